//! Math: integer functions convert every operand with cast's `ToInt64` and wrap on overflow
//! as Go's int64 does; the `…f` functions go through shopspring/decimal (each float becomes
//! its shortest decimal, the operation is exact, division keeps 16 decimal places rounded
//! half away from zero, and the result is the nearest float64), so `addf 0.1 0.2` is 0.3.

use gotemplate::{Param, Value};
use num_bigint::{BigInt, Sign};

use crate::conv::{to_float64, to_int64};
use crate::{R, Registry, arg, err, float_arg, int_arg, sig, sig_var, string};

/// More elements than any template needs; Go would try to allocate them and die.
const MAX_RANGE: usize = 1 << 26;

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("add1", sig(&[Any]), |a| {
        Ok(Value::Int64(to_int64(arg(a, 0)).wrapping_add(1)))
    });
    r.add("add", sig_var(&[], Any), |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))),
        ))
    });
    r.add("sub", sig(&[Any, Any]), |a| {
        Ok(Value::Int64(
            to_int64(arg(a, 0)).wrapping_sub(to_int64(arg(a, 1))),
        ))
    });
    r.add("div", sig(&[Any, Any]), |a| {
        let (x, y) = (to_int64(arg(a, 0)), to_int64(arg(a, 1)));
        if y == 0 {
            return Err(err("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(x.wrapping_div(y)))
    });
    r.add("mod", sig(&[Any, Any]), |a| {
        let (x, y) = (to_int64(arg(a, 0)), to_int64(arg(a, 1)));
        if y == 0 {
            return Err(err("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(x.wrapping_rem(y)))
    });
    r.add("mul", sig_var(&[Any], Any), |a| {
        Ok(Value::Int64(
            a.iter()
                .skip(1)
                .fold(to_int64(arg(a, 0)), |p, v| p.wrapping_mul(to_int64(v))),
        ))
    });
    r.add("randInt", sig(&[Int, Int]), |a| {
        use rand::Rng;
        let (min, max) = (int_arg(a, 0)?, int_arg(a, 1)?);
        let n = max.wrapping_sub(min);
        if n <= 0 {
            return Err(err("invalid argument to Intn"));
        }
        Ok(Value::Int(rand::rng().random_range(0..n).wrapping_add(min)))
    });
    r.add("add1f", sig(&[Any]), |a| {
        decimal_op(arg(a, 0), &[Value::Int(1)], Dec::add)
    });
    r.add("addf", sig_var(&[], Any), |a| {
        decimal_op(&Value::Float(0.0), a, Dec::add)
    });
    r.add("subf", sig_var(&[Any], Any), |a| {
        decimal_op(arg(a, 0), rest(a), Dec::sub)
    });
    r.add("mulf", sig_var(&[Any], Any), |a| {
        decimal_op(arg(a, 0), rest(a), Dec::mul)
    });
    r.add("divf", sig_var(&[Any], Any), |a| {
        decimal_op(arg(a, 0), rest(a), Dec::div)
    });
    for name in ["biggest", "max"] {
        r.add(name, sig_var(&[Any], Any), |a| {
            Ok(Value::Int64(
                rest(a)
                    .iter()
                    .map(to_int64)
                    .fold(to_int64(arg(a, 0)), i64::max),
            ))
        });
    }
    r.add("min", sig_var(&[Any], Any), |a| {
        Ok(Value::Int64(
            rest(a)
                .iter()
                .map(to_int64)
                .fold(to_int64(arg(a, 0)), i64::min),
        ))
    });
    r.add("maxf", sig_var(&[Any], Any), |a| {
        Ok(Value::Float(
            rest(a)
                .iter()
                .map(to_float64)
                .fold(to_float64(arg(a, 0)), go_max),
        ))
    });
    r.add("minf", sig_var(&[Any], Any), |a| {
        Ok(Value::Float(
            rest(a)
                .iter()
                .map(to_float64)
                .fold(to_float64(arg(a, 0)), go_min),
        ))
    });
    r.add("ceil", sig(&[Any]), |a| {
        Ok(Value::Float(to_float64(arg(a, 0)).ceil()))
    });
    r.add("floor", sig(&[Any]), |a| {
        Ok(Value::Float(to_float64(arg(a, 0)).floor()))
    });
    r.add("round", sig_var(&[Any, Int], Float64), |a| {
        let round_on = if a.len() > 2 { float_arg(a, 2)? } else { 0.5 };
        let val = to_float64(arg(a, 0));
        let pow = go_pow10(int_arg(a, 1)?);
        let digit = pow * val;
        let frac = digit.fract();
        let rounded = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(rounded / pow))
    });
    r.add("until", sig(&[Int]), |a| {
        let count = int_arg(a, 0)?;
        until_step(0, count, if count < 0 { -1 } else { 1 }).map(crate::conv::int_list)
    });
    r.add("untilStep", sig(&[Int, Int, Int]), |a| {
        until_step(int_arg(a, 0)?, int_arg(a, 1)?, int_arg(a, 2)?).map(crate::conv::int_list)
    });
    r.add("seq", sig_var(&[], Int), |a| {
        let p: Vec<i64> = (0..a.len())
            .map(|i| int_arg(a, i))
            .collect::<Result<_, _>>()?;
        let numbers = match p.as_slice() {
            [end] => {
                let inc = if *end < 1 { -1 } else { 1 };
                until_step(1, end.wrapping_add(inc), inc)?
            }
            [start, end] => {
                let step = if end < start { -1 } else { 1 };
                until_step(*start, end.wrapping_add(step), step)?
            }
            [start, step, end] => {
                let mut inc = 1;
                if end < start {
                    inc = -1;
                    if *step > 0 {
                        return Ok(string(""));
                    }
                }
                until_step(*start, end.wrapping_add(inc), *step)?
            }
            _ => Vec::new(),
        };
        let text: Vec<std::string::String> = numbers.iter().map(i64::to_string).collect();
        Ok(string(text.join(" ")))
    });
}

fn rest(a: &[Value]) -> &[Value] {
    a.get(1..).unwrap_or(&[])
}

/// Sprig's `untilStep`.
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, gotemplate::FuncError> {
    let mut v = Vec::new();
    let mut i = start;
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        while i > stop {
            push_bounded(&mut v, i)?;
            i = i.wrapping_add(step);
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    while i < stop {
        push_bounded(&mut v, i)?;
        i = i.wrapping_add(step);
    }
    Ok(v)
}

fn push_bounded(v: &mut Vec<i64>, i: i64) -> Result<(), gotemplate::FuncError> {
    if v.len() >= MAX_RANGE {
        return Err(err(format!(
            "a range of more than {MAX_RANGE} numbers is beyond what a template can use"
        )));
    }
    v.push(i);
    Ok(())
}

/// Go's `math.Max`.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x > 0.0 || y.is_infinite() && y > 0.0 {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`.
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x < 0.0 || y.is_infinite() && y < 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// Go's `math.Pow(10, n)` for an integer `n`: successive squarings of the mantissa, so the
/// result is bit for bit Go's (it can differ from a correctly rounded power).
fn go_pow10(n: i64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    if n == 1 {
        return 10.0;
    }
    let (mut x1, mut xe) = frexp(10.0);
    let mut a1 = 1.0f64;
    let mut ae: i64 = 0;
    let mut i = n.unsigned_abs();
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if n < 0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// `math.Frexp` for finite, positive, normal `x`.
fn frexp(x: f64) -> (f64, i64) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1022;
    let mant = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mant, exp)
}

/// `math.Ldexp`.
fn ldexp(frac: f64, exp: i64) -> f64 {
    let e = exp.clamp(-2200, 2200) as i32;
    // Two steps keep the intermediate power of two representable.
    let half = e / 2;
    frac * 2f64.powi(half) * 2f64.powi(e - half)
}

/// Sprig's `execDecimalOp`: `first` op each of `rest`, in decimal.
fn decimal_op(first: &Value, rest: &[Value], op: fn(Dec, Dec) -> Result<Dec, String>) -> R {
    let mut acc = Dec::from_f64(to_float64(first)).map_err(err)?;
    for x in rest {
        let d = Dec::from_f64(to_float64(x)).map_err(err)?;
        acc = op(acc, d).map_err(err)?;
    }
    Ok(Value::Float(acc.to_f64()))
}

/// A shopspring/decimal value: `value × 10^exp`.
#[derive(Clone, Debug)]
struct Dec {
    value: BigInt,
    exp: i64,
}

/// shopspring/decimal's `DivisionPrecision`.
const DIVISION_PRECISION: i64 = 16;

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Result<Dec, String> {
        if f.is_nan() || f.is_infinite() {
            let shown = gotemplate::gofmt::sprint(&[Value::Float(f)]);
            return Err(format!("Cannot create a Decimal from {shown}"));
        }
        if f == 0.0 {
            return Ok(Dec {
                value: BigInt::from(0),
                exp: 0,
            });
        }
        // Rust's `{:e}` is the shortest round-trip form: "-1.2345e-7".
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = format!("{int_part}{frac_part}");
        let value: BigInt = digits.parse().unwrap_or_default();
        Ok(Dec {
            value,
            exp: exp - frac_part.len() as i64,
        })
    }

    fn rescaled(&self, exp: i64) -> BigInt {
        // exp <= self.exp
        &self.value * BigInt::from(10).pow((self.exp - exp) as u32)
    }

    fn add(a: Dec, b: Dec) -> Result<Dec, String> {
        let exp = a.exp.min(b.exp);
        Ok(Dec {
            value: a.rescaled(exp) + b.rescaled(exp),
            exp,
        })
    }

    fn sub(a: Dec, b: Dec) -> Result<Dec, String> {
        let exp = a.exp.min(b.exp);
        Ok(Dec {
            value: a.rescaled(exp) - b.rescaled(exp),
            exp,
        })
    }

    fn mul(a: Dec, b: Dec) -> Result<Dec, String> {
        Ok(Dec {
            value: a.value * b.value,
            exp: a.exp + b.exp,
        })
    }

    /// `Div`: `DivRound(b, 16)`.
    fn div(a: Dec, b: Dec) -> Result<Dec, String> {
        if b.value.sign() == Sign::NoSign {
            return Err("decimal division by 0".into());
        }
        let ten = BigInt::from(10);
        // a/b × 10^16 = (va × 10^(ea+16)) / (vb × 10^eb).
        let shift = a.exp + DIVISION_PRECISION - b.exp;
        let (num, den) = if shift >= 0 {
            (&a.value * ten.pow(shift as u32), b.value.clone())
        } else {
            (a.value.clone(), &b.value * ten.pow((-shift) as u32))
        };
        let mut q = &num / &den;
        let r = &num % &den;
        let twice_r = r.magnitude() * 2u32;
        if twice_r >= *den.magnitude() {
            if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) {
                q -= 1;
            } else {
                q += 1;
            }
        }
        Ok(Dec {
            value: q,
            exp: -DIVISION_PRECISION,
        })
    }

    /// The nearest float64.
    fn to_f64(&self) -> f64 {
        format!("{}e{}", self.value, self.exp)
            .parse()
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(f: f64) -> Dec {
        Dec::from_f64(f).unwrap()
    }

    #[test]
    fn decimal_arithmetic_is_exact_on_shortest_decimals() {
        assert_eq!(Dec::add(dec(0.1), dec(0.2)).unwrap().to_f64(), 0.3);
        assert_eq!(
            Dec::div(dec(1.0), dec(3.0)).unwrap().to_f64(),
            0.3333333333333333
        );
        assert_eq!(
            Dec::div(dec(2.0), dec(3.0)).unwrap().to_f64(),
            0.6666666666666667
        );
        assert_eq!(
            Dec::div(dec(-2.0), dec(3.0)).unwrap().to_f64(),
            -0.6666666666666667
        );
        assert!(Dec::div(dec(1.0), dec(0.0)).is_err());
    }

    #[test]
    fn pow10_matches_exact_powers() {
        for n in 0..=22 {
            assert_eq!(go_pow10(n), format!("1e{n}").parse::<f64>().unwrap(), "{n}");
        }
    }
}
