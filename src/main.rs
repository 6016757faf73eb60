// mimalloc: rendering is allocation-heavy (values trees, Tera values, many small strings), and
// it spends 10-15% less CPU there than glibc malloc (see Cargo.toml for the THP choice).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(charter::cli::main());
}
