//! Go's `fmt` over template values: `Sprint`, `Sprintln`, `Sprintf`, and so what every
//! template prints.
//!
//! What Helm charts lean on, exactly as Go does it:
//! - `%v` of a float64 is strconv's shortest `'g'` form, which switches to an exponent when
//!   the exponent is < -4 or >= 6 (not 21 as in JSON): `1000000` prints `1e+06`, `123456`
//!   prints `123456`, `0.00001` prints `1e-05`; exponents have at least two digits.
//! - maps print as `map[k1:v1 k2:v2]` in key order, lists as `[a b]`, nil as `<nil>`.
//! - a verb that does not fit its operand prints `%!d(string=x)`; a missing operand
//!   `%!d(MISSING)`; leftovers `%!(EXTRA string=x, int=1)`.
//! - `Sprint` puts a space between operands when neither side is a string.

use std::fmt::Write as _;

use crate::value::Value;

/// Go's `fmt.Sprint`.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v', 0);
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(arg, 'v', 0);
    }
    p.buf.push('\n');
    p.buf
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    /// `%+v`: kept apart from `plus` as Go does (it changes struct printing, not numbers).
    plus_v: bool,
    sharp_v: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
    /// Printing a bad verb's operand: no String() calls, as Go.
    erroring: bool,
    /// Go's `goodArgNum` for the verb being read, and whether any `[n]` index was seen.
    good_arg_num: bool,
    reordered: bool,
}

impl Printer {
    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let bytes = format.as_bytes();
        let end = bytes.len();
        let mut arg_num = 0;
        let mut after_index;
        self.reordered = false;
        let mut i = 0;
        while i < end {
            self.good_arg_num = true;
            let lasti = i;
            while i < end && bytes[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            // Skip the %.
            i += 1;
            self.f = Flags::default();
            // Flags.
            while i < end {
                match bytes[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = true,
                    b'+' => self.f.plus = true,
                    b'-' => self.f.minus = true,
                    b' ' => self.f.space = true,
                    _ => break,
                }
                i += 1;
            }
            // Argument index, then width.
            (arg_num, i, after_index) = self.arg_number(arg_num, format, i, args.len());
            if i < end && bytes[i] == b'*' {
                i += 1;
                let (w, is_int, next) = int_from_arg(args, arg_num);
                arg_num = next;
                match (is_int, w) {
                    (true, w) if w.unsigned_abs() <= 1_000_000 => {
                        if w < 0 {
                            self.f.minus = true;
                        }
                        self.f.width = Some(w.unsigned_abs() as usize);
                    }
                    _ => self.buf.push_str("%!(BADWIDTH)"),
                }
                after_index = false;
            } else {
                let (n, ok, next) = parse_num(format, i);
                if ok {
                    if after_index {
                        // "%[3]2d"
                        self.good_arg_num = false;
                    }
                    self.f.width = Some(n);
                }
                i = next;
            }
            // Precision.
            if i < end && bytes[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, format, i, args.len());
                if i < end && bytes[i] == b'*' {
                    i += 1;
                    let (p, is_int, next) = int_from_arg(args, arg_num);
                    arg_num = next;
                    if is_int && (0..=1_000_000).contains(&p) {
                        self.f.prec = Some(p as usize);
                    } else {
                        self.f.prec = None;
                        if !is_int || p > 1_000_000 {
                            self.buf.push_str("%!(BADPREC)");
                        }
                    }
                    after_index = false;
                } else {
                    let (n, _, next) = parse_num(format, i);
                    self.f.prec = Some(n);
                    i = next;
                }
            }
            if !after_index {
                (arg_num, i, _) = self.arg_number(arg_num, format, i, args.len());
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('%');
            i += verb.len_utf8();
            // A zero flag with a minus flag pads on the right with spaces.
            if self.f.minus {
                self.f.zero = false;
            }
            if verb == '%' {
                self.buf.push('%');
                continue;
            }
            if !self.good_arg_num {
                self.bad_arg_num(verb);
                continue;
            }
            if arg_num >= args.len() {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(MISSING)");
                continue;
            }
            if verb == 'w' {
                // Only Errorf knows %w.
                self.bad_verb(verb, &args[arg_num]);
                arg_num += 1;
                continue;
            }
            if verb == 'v' {
                if self.f.sharp {
                    self.f.sharp = false;
                    self.f.sharp_v = true;
                }
                if self.f.plus {
                    self.f.plus = false;
                    self.f.plus_v = true;
                }
            }
            let arg = &args[arg_num];
            self.print_arg(arg, verb, 0);
            arg_num += 1;
        }
        if !self.reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (k, arg) in args[arg_num..].iter().enumerate() {
                if k > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(&arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v', 0);
                }
            }
            self.buf.push(')');
        }
    }

    /// Go's `argNumber`: an explicit `[n]` index.
    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &str,
        i: usize,
        num_args: usize,
    ) -> (usize, usize, bool) {
        let b = format.as_bytes();
        if i >= b.len() || b[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        // Go's parseArgNumber.
        for (j, &c) in b.iter().enumerate().skip(i + 1) {
            if c == b']' {
                let (n, ok, next) = parse_num(format, i + 1);
                if !ok || next != j {
                    self.good_arg_num = false;
                    return (arg_num, j + 1, true);
                }
                if n >= 1 && n - 1 < num_args {
                    return (n - 1, j + 1, true);
                }
                self.good_arg_num = false;
                return (arg_num, j + 1, true);
            }
        }
        self.good_arg_num = false;
        (arg_num, i + 1, false)
    }

    fn bad_arg_num(&mut self, verb: char) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push_str("(BADINDEX)");
    }

    fn bad_verb(&mut self, verb: char, arg: &Value) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if arg.is_nil() {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(&arg.type_name());
            self.buf.push('=');
            self.print_arg(arg, 'v', 0);
        }
        self.buf.push(')');
        self.erroring = false;
    }

    /// Go's `printArg` (depth 0) and `printValue` (inside lists and maps).
    fn print_arg(&mut self, arg: &Value, verb: char, depth: usize) {
        if verb == 'T' {
            let name = arg.type_name();
            self.pad_str(&name);
            return;
        }
        if verb == 'p' {
            // Templates have no pointers to show.
            self.bad_verb(verb, arg);
            return;
        }
        match arg {
            // Inside a list or map, a nil interface prints bare, whatever the verb and width.
            Value::Nil if depth > 0 => self.buf.push_str("<nil>"),
            Value::Nil if verb == 'v' => self.pad_str("<nil>"),
            Value::Nil => self.bad_verb(verb, arg),
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad_str(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, arg),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_integer(*i, verb, arg),
            Value::Float(x) => self.fmt_float(*x, verb, arg),
            Value::String(s) => self.fmt_string(s, verb, arg),
            Value::Bytes(b) => match verb {
                's' | 'q' | 'x' | 'X' => self.fmt_bytes_as_string(b, verb, arg),
                _ => {
                    self.buf.push('[');
                    for (k, x) in b.iter().enumerate() {
                        if k > 0 {
                            self.buf.push(' ');
                        }
                        self.print_arg(&Value::Int(i64::from(*x)), verb, depth + 1);
                    }
                    self.buf.push(']');
                }
            },
            Value::List(l) => {
                self.buf.push('[');
                for (k, x) in l.items().iter().enumerate() {
                    if k > 0 {
                        self.buf.push(' ');
                    }
                    crate::exec::grow(|| self.print_arg(x, verb, depth + 1));
                }
                self.buf.push(']');
            }
            Value::Map(m) => {
                let entries = m.entries();
                self.buf.push_str("map[");
                for (k, (key, v)) in entries.iter().enumerate() {
                    if k > 0 {
                        self.buf.push(' ');
                    }
                    self.fmt_string(key, verb, &Value::from(key.as_str()));
                    self.buf.push(':');
                    crate::exec::grow(|| self.print_arg(v, verb, depth + 1));
                }
                self.buf.push(']');
            }
            Value::Object(o) => {
                if !self.erroring
                    && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q')
                    && let Some(s) = o.string()
                {
                    self.fmt_string(&s, verb, arg);
                    return;
                }
                if let Some(u) = o.underlying() {
                    return self.print_arg(&u, verb, depth);
                }
                let pointer = o.type_name().starts_with('*');
                match o.struct_fields() {
                    // Go prints a pointer inside a list or map as its address; no template
                    // can rely on one, so it prints as at the top: `&{…}`.
                    Some(fields) => {
                        if pointer {
                            self.buf.push('&');
                        }
                        self.buf.push('{');
                        for (k, (name, v)) in fields.iter().enumerate() {
                            if k > 0 {
                                self.buf.push(' ');
                            }
                            if self.f.plus_v {
                                self.buf.push_str(name);
                                self.buf.push(':');
                            }
                            crate::exec::grow(|| self.print_arg(v, verb, depth + 1));
                        }
                        self.buf.push('}');
                    }
                    None => {
                        let name = o.type_name().to_string();
                        self.pad_str(&format!("&{{{name}}}"));
                    }
                }
            }
        }
    }

    fn pad_str(&mut self, s: &str) {
        let width = self.f.width.unwrap_or(0);
        let n = s.chars().count();
        if n >= width {
            self.buf.push_str(s);
            return;
        }
        let pad = width - n;
        let pad_char = if self.f.zero { '0' } else { ' ' };
        if self.f.minus {
            self.buf.push_str(s);
            self.buf.extend(std::iter::repeat_n(' ', pad));
        } else {
            self.buf.extend(std::iter::repeat_n(pad_char, pad));
            self.buf.push_str(s);
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, arg: &Value) {
        match verb {
            'v' if self.f.sharp_v => {
                let q = quote(s, false);
                self.pad_str(&q);
            }
            'v' | 's' => {
                let s = self.truncate(s);
                self.pad_str(s);
            }
            'x' | 'X' => {
                let s = self.truncate(s).to_string();
                self.fmt_hex_bytes(s.as_bytes(), verb);
            }
            'q' => {
                let s = self.truncate(s);
                let q = if self.f.sharp && can_backquote(s) {
                    format!("`{s}`")
                } else {
                    quote(s, self.f.plus)
                };
                self.pad_str(&q);
            }
            _ => self.bad_verb(verb, arg),
        }
    }

    fn fmt_bytes_as_string(&mut self, b: &[u8], verb: char, arg: &Value) {
        match verb {
            'x' | 'X' => {
                let b = match self.f.prec {
                    Some(p) if p < b.len() => &b[..p],
                    _ => b,
                };
                self.fmt_hex_bytes(b, verb);
            }
            _ => {
                let s = String::from_utf8_lossy(b).into_owned();
                self.fmt_string(&s, verb, arg);
            }
        }
    }

    /// Go's precision on strings: at most that many runes.
    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec {
            Some(p) => match s.char_indices().nth(p) {
                Some((i, _)) => &s[..i],
                None => s,
            },
            None => s,
        }
    }

    fn fmt_hex_bytes(&mut self, b: &[u8], verb: char) {
        let digits: &[u8; 16] = if verb == 'x' {
            b"0123456789abcdef"
        } else {
            b"0123456789ABCDEF"
        };
        let mut s = String::new();
        for (k, &c) in b.iter().enumerate() {
            if self.f.space && k > 0 {
                s.push(' ');
            }
            if self.f.sharp && (self.f.space || k == 0) {
                s.push('0');
                s.push(verb);
            }
            s.push(char::from(digits[usize::from(c >> 4)]));
            s.push(char::from(digits[usize::from(c & 15)]));
        }
        self.pad_str(&s);
    }

    fn fmt_integer(&mut self, i: i64, verb: char, arg: &Value) {
        match verb {
            'v' | 'd' => self.fmt_int_base(i, 10, verb),
            'b' => self.fmt_int_base(i, 2, verb),
            'o' | 'O' => self.fmt_int_base(i, 8, verb),
            'x' | 'X' => self.fmt_int_base(i, 16, verb),
            'c' => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                self.pad_str(&c.to_string());
            }
            'q' => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                let q = quote_rune(c, self.f.plus);
                self.pad_str(&q);
            }
            'U' => {
                let mut s = if i < 0 {
                    format!("U+{:04X}", i as u64)
                } else {
                    format!("U+{i:04X}")
                };
                if self.f.sharp
                    && let Some(c) = u32::try_from(i).ok().and_then(char::from_u32)
                    && is_print(c)
                {
                    s.push_str(&format!(" '{c}'"));
                }
                self.pad_str(&s);
            }
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => self.bad_verb(verb, arg),
            _ => self.bad_verb(verb, arg),
        }
    }

    /// Go's `fmt.fmtInteger`.
    fn fmt_int_base(&mut self, i: i64, base: u32, verb: char) {
        let negative = i < 0;
        let mut u = i.unsigned_abs();
        let mut digits = String::new();
        if u == 0 {
            digits.push('0');
        }
        let table: &[u8] = if verb == 'X' {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        while u > 0 {
            digits.push(char::from(table[(u % u64::from(base)) as usize]));
            u /= u64::from(base);
        }
        // Precision is the minimum number of digits; zero padding to the width works as a
        // precision when no precision was given.
        let mut prec = self.f.prec;
        if prec.is_none()
            && self.f.zero
            && !self.f.minus
            && let Some(w) = self.f.width
        {
            let sign = negative || self.f.plus || self.f.space;
            prec = Some(if sign { w.saturating_sub(1) } else { w });
        }
        if prec == Some(0) && i == 0 {
            // Precision 0 and value 0 print nothing but padding.
            let old_zero = self.f.zero;
            self.f.zero = false;
            let width = self.f.width.unwrap_or(0);
            self.buf.extend(std::iter::repeat_n(' ', width));
            self.f.zero = old_zero;
            return;
        }
        if let Some(p) = prec {
            while digits.len() < p {
                digits.push('0');
            }
        }
        if self.f.sharp {
            match base {
                2 => digits.push_str("b0"),
                8 if !digits.ends_with('0') => digits.push('0'),
                16 => digits.push(if verb == 'X' { 'X' } else { 'x' }),
                _ => {}
            }
            if base == 16 {
                digits.push('0');
            }
        }
        if verb == 'O' {
            digits.push_str("o0");
        }
        if negative {
            digits.push('-');
        } else if self.f.plus {
            digits.push('+');
        } else if self.f.space {
            digits.push(' ');
        }
        let s: String = digits.chars().rev().collect();
        // The zero flag has been spent on the precision.
        let old_zero = self.f.zero;
        self.f.zero = false;
        self.pad_str(&s);
        self.f.zero = old_zero;
    }

    fn fmt_float(&mut self, x: f64, verb: char, arg: &Value) {
        let (verb, default_prec) = match verb {
            'v' => ('g', None),
            'g' | 'G' => (verb, None),
            'e' | 'E' | 'f' | 'F' => (verb, Some(6)),
            'b' | 'x' | 'X' => (verb, None),
            _ => return self.bad_verb(verb, arg),
        };
        let prec = self.f.prec.or(default_prec);
        let mut num = format_float(x, verb, prec);
        // Go's sign and padding rules.
        if !num.starts_with('-') && !num.starts_with('+') {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        let body = &num[1..];
        if body.starts_with("Inf") || body.starts_with("NaN") {
            let old_zero = self.f.zero;
            self.f.zero = false;
            let s = if body.starts_with("NaN") && !self.f.space && !self.f.plus {
                body.to_string()
            } else {
                num.clone()
            };
            self.pad_str(&s);
            self.f.zero = old_zero;
            return;
        }
        if self.f.sharp && verb != 'b' {
            num = sharp_float(&num, verb, prec);
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero
                && !self.f.minus
                && let Some(w) = self.f.width
                && w > num.len()
            {
                let sign = &num[..1];
                self.buf.push_str(sign);
                self.buf.extend(std::iter::repeat_n('0', w - num.len()));
                self.buf.push_str(&num[1..]);
                return;
            }
            let s = num.clone();
            self.pad_str(&s);
            return;
        }
        let s = num[1..].to_string();
        self.pad_str(&s);
    }
}

/// Go's `%#g`/`%#e`/`%#f`: keep a decimal point, and `%#g` keeps trailing zeros up to the
/// precision. `num` starts with its sign.
fn sharp_float(num: &str, verb: char, prec: Option<usize>) -> String {
    let mut digits: i64 = match verb {
        'g' | 'G' | 'x' => prec.map_or(6, |p| p as i64),
        _ => 0,
    };
    let (mantissa, tail) = match num[1..].find(|c| match c {
        'p' | 'P' => true,
        'e' | 'E' => verb != 'x' && verb != 'X',
        _ => false,
    }) {
        Some(i) => (&num[..i + 1], &num[i + 1..]),
        None => (num, ""),
    };
    let mut has_point = false;
    let mut saw_nonzero = false;
    for c in mantissa[1..].chars() {
        if c == '.' {
            has_point = true;
            continue;
        }
        if c != '0' {
            saw_nonzero = true;
        }
        if saw_nonzero {
            digits -= 1;
        }
    }
    let mut out = mantissa.to_string();
    if !has_point {
        // A leading 0 counts once as a digit.
        if mantissa.len() == 2 && mantissa.ends_with('0') {
            digits -= 1;
        }
        out.push('.');
    }
    while digits > 0 {
        out.push('0');
        digits -= 1;
    }
    out.push_str(tail);
    out
}

/// strconv.FormatFloat(x, verb, prec, 64): `prec` None is the shortest representation.
pub(crate) fn format_float(x: f64, verb: char, prec: Option<usize>) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let neg = x.is_sign_negative();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let a = x.abs();
    match verb {
        'f' | 'F' => match prec {
            Some(p) => out.push_str(&format!("{a:.p$}")),
            None => {
                let d = shortest_digits(a);
                out.push_str(&fmt_f(
                    &d,
                    d.digits.len().saturating_sub(d.dp.max(0) as usize),
                ));
            }
        },
        'e' | 'E' => {
            let d = match prec {
                Some(p) => rounded_digits(a, p + 1),
                None => shortest_digits(a),
            };
            let p = prec.unwrap_or(d.digits.len().saturating_sub(1));
            out.push_str(&fmt_e(&d, p, verb));
        }
        'g' | 'G' => {
            let shortest = prec.is_none();
            let mut p = match prec {
                Some(0) => 1,
                Some(p) => p,
                None => 0,
            };
            let d = if shortest {
                shortest_digits(a)
            } else {
                rounded_digits(a, p)
            };
            if shortest {
                p = d.digits.len();
            }
            let nd = d.digits.len() as i64;
            let mut eprec = p as i64;
            if eprec > nd && nd >= i64::from(d.dp) {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = i64::from(d.dp) - 1;
            if exp < -4 || exp >= eprec {
                let mut pp = p as i64;
                if pp > nd {
                    pp = nd;
                }
                let e = if verb == 'g' { 'e' } else { 'E' };
                out.push_str(&fmt_e(&d, (pp - 1).max(0) as usize, e));
            } else {
                let mut pp = p as i64;
                if pp > i64::from(d.dp) {
                    pp = nd;
                }
                out.push_str(&fmt_f(&d, (pp - i64::from(d.dp)).max(0) as usize));
            }
        }
        'b' => {
            let bits = a.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let mut mant = bits & ((1 << 52) - 1);
            let e = if exp == 0 {
                -1074
            } else {
                mant |= 1 << 52;
                exp - 1075
            };
            out.push_str(&format!("{mant}p{}{e}", if e >= 0 { "+" } else { "" }));
        }
        _ => {
            // %x/%X on floats: hexadecimal mantissa and binary exponent.
            out.push_str(&hex_float(a, prec, verb == 'X'));
        }
    }
    out
}

/// Decimal digits (no leading or trailing zeros) and the decimal point's position: the value
/// is 0.DIGITS × 10^dp, strconv's `decimalSlice`.
struct Digits {
    digits: Vec<u8>,
    dp: i32,
}

fn parse_exp_form(s: &str) -> Digits {
    // Rust's `{:e}` form: d[.ddd]e[-]x
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits == b"0" {
        return Digits {
            digits: Vec::new(),
            dp: 0,
        };
    }
    Digits {
        digits,
        dp: exp + 1,
    }
}

/// The shortest digits that read back as `a`, from Ryū as Go's strconv has them: of two
/// equally close decimals the one ending in an even digit (Rust's `{:e}` rounds such ties up:
/// `694183643616285.25` is `…285.2` in Go, `…285.3` there).
fn shortest_digits(a: f64) -> Digits {
    if a == 0.0 {
        return Digits {
            digits: Vec::new(),
            dp: 0,
        };
    }
    let mut buf = ryu::Buffer::new();
    // ryu writes `123.45`, `0.0001`, `1e21` or `1.5e-7`.
    let text = buf.format_finite(a);
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut dp = int.len() as i32 + exp.parse::<i32>().unwrap_or(0);
    let mut digits: Vec<u8> = [int, frac].concat().into_bytes();
    let leading = digits.iter().take_while(|&&b| b == b'0').count();
    dp -= leading as i32;
    digits.drain(..leading);
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    Digits { digits, dp }
}

fn rounded_digits(a: f64, significant: usize) -> Digits {
    let p = significant.max(1) - 1;
    parse_exp_form(&format!("{a:.p$e}"))
}

/// strconv's `fmtE` over digits: `d.ddde±dd`.
fn fmt_e(d: &Digits, prec: usize, e: char) -> String {
    let mut s = String::new();
    let first = d.digits.first().copied().unwrap_or(b'0');
    s.push(char::from(first));
    if prec > 0 {
        s.push('.');
        let mut i = 1;
        let m = d.digits.len().min(prec + 1);
        while i < m {
            s.push(char::from(d.digits[i]));
            i += 1;
        }
        while i <= prec {
            s.push('0');
            i += 1;
        }
    }
    s.push(e);
    let exp = if d.digits.is_empty() { 0 } else { d.dp - 1 };
    s.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        s.push('0');
    }
    let _ = write!(s, "{exp}");
    s
}

/// strconv's `fmtF` over digits: `ddd.ddd` with `prec` decimals.
fn fmt_f(d: &Digits, prec: usize) -> String {
    let mut s = String::new();
    if d.dp > 0 {
        let dp = d.dp as usize;
        let m = d.digits.len().min(dp);
        for &c in &d.digits[..m] {
            s.push(char::from(c));
        }
        for _ in m..dp {
            s.push('0');
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            let j = d.dp + i as i32 - 1;
            let c = if j >= 0 && (j as usize) < d.digits.len() {
                d.digits[j as usize]
            } else {
                b'0'
            };
            s.push(char::from(c));
        }
    }
    s
}

fn hex_float(a: f64, prec: Option<usize>, upper: bool) -> String {
    if a == 0.0 {
        let mut s = "0x0".to_string();
        if let Some(p) = prec
            && p > 0
        {
            s.push('.');
            s.extend(std::iter::repeat_n('0', p));
        }
        s.push_str("p+00");
        return if upper { s.to_uppercase() } else { s };
    }
    let bits = a.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        // Subnormal: normalise.
        exp = -1022;
        while mant & (1 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
    } else {
        exp -= 1023;
    }
    let mut frac = format!("{mant:013x}");
    match prec {
        Some(p) if p < 13 => {
            // Round to p hex digits, half to even.
            let full = (1u64 << 52) | mant;
            let shift = 4 * (13 - p);
            let mut m = full >> shift;
            let rem = full & ((1u64 << shift) - 1);
            let half = 1u64 << (shift - 1);
            if rem > half || (rem == half && m & 1 == 1) {
                m += 1;
            }
            if m >> (4 * p) >= 2 {
                m >>= 1;
                exp += 1;
            }
            let mask = if p == 0 { 0 } else { (1u64 << (4 * p)) - 1 };
            frac = if p == 0 {
                String::new()
            } else {
                format!("{:0width$x}", m & mask, width = p)
            };
        }
        Some(p) => {
            frac.extend(std::iter::repeat_n('0', p - 13));
        }
        None => {
            while frac.ends_with('0') {
                frac.pop();
            }
        }
    }
    let mut s = "0x1".to_string();
    if !frac.is_empty() {
        s.push('.');
        s.push_str(&frac);
    }
    let _ = write!(
        s,
        "p{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    );
    if upper { s.to_uppercase() } else { s }
}

/// Go's `parsenum`: a decimal number at `i`, and where it ended.
fn parse_num(s: &str, mut i: usize) -> (usize, bool, usize) {
    let b = s.as_bytes();
    let start = i;
    let mut n: usize = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        if n > 1_000_000 {
            // Overflow guard, as Go's tooLarge.
            return (0, false, b.len());
        }
        n = n * 10 + usize::from(b[i] - b'0');
        i += 1;
    }
    (n, i > start, i)
}

/// Go's `intFromArg`: a `*` width or precision; (value, was an integer, next argument).
fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    match args.get(arg_num) {
        Some(Value::Int(n) | Value::Int64(n)) => {
            let ok = n.unsigned_abs() <= 1_000_000;
            (if ok { *n } else { 0 }, ok, arg_num + 1)
        }
        Some(_) => (0, false, arg_num + 1),
        None => (0, false, arg_num),
    }
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii`).
pub(crate) fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        append_escaped(&mut out, c, '"', ascii);
    }
    out.push('"');
    out
}

fn quote_rune(c: char, ascii: bool) -> String {
    let mut out = String::from("'");
    append_escaped(&mut out, c, '\'', ascii);
    out.push('\'');
    out
}

fn append_escaped(out: &mut String, c: char, quote: char, ascii: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii {
        if c.is_ascii() && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\u{FFFD}' if false => {}
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\x7f')))
}

/// Go's `strconv.IsPrint` (unicode.IsPrint minus the non-ASCII spaces), approximated by the
/// character classes Rust knows: control, format-less and unassigned characters are not
/// printable.
pub(crate) fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // Format characters (Cf), private use, surrogates and noncharacters are not graphic.
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF | 0xE0001 | 0xE0020..=0xE007F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // -694183643616285.25 is exact in f64 and a tie between two shortest decimals: the digits
    // the lint would cut are the point of the test.
    #[allow(clippy::excessive_precision)]
    fn floats_print_as_go_does() {
        let cases = [
            (1000000.0, "1e+06"),
            (123456.0, "123456"),
            (3.0, "3"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e300, "1.5e+300"),
            (-2.5, "-2.5"),
            (1234567.0, "1.234567e+06"),
            // A tie between two shortest decimals: Go keeps the even digit.
            (-694183643616285.25, "-6.941836436162852e+14"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-07"),
        ];
        for (x, want) in cases {
            assert_eq!(sprint(&[Value::Float(x)]), want, "{x}");
        }
        assert_eq!(
            sprintf(
                "%.2f|%e|%g|%5.1f",
                &[1.23456.into(), 1234.5.into(), 0.000012.into(), 2.25.into()]
            ),
            "1.23|1.234500e+03|1.2e-05|  2.2"
        );
        assert_eq!(
            sprintf("%f|%e", &[(-694183643616285.25).into(), 0.5.into()]),
            "-694183643616285.250000|5.000000e-01"
        );
        assert_eq!(
            sprintf("%v", &[(-694183643616285.25f64).into()]),
            "-6.941836436162852e+14"
        );
    }

    #[test]
    fn bad_verbs_missing_and_extra_operands() {
        assert_eq!(sprintf("%d", &["x".into()]), "%!d(string=x)");
        assert_eq!(sprintf("%d %s", &[Value::Int(1)]), "1 %!s(MISSING)");
        assert_eq!(
            sprintf("%d", &[Value::Int(1), "a".into()]),
            "1%!(EXTRA string=a)"
        );
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
    }
}
