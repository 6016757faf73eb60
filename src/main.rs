fn main() {
    std::process::exit(charter::cli::main());
}
