//! DynamoDB numbers: decimal, at most 38 significant digits, magnitude between 1E-130 and
//! 9.9999999999999999999999999999999999999E+125 (or zero). Stored normalised (no leading or
//! trailing zeros, no negative zero) so that equal values compare and print equal, and added
//! or subtracted exactly.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Most significant digits a number may have.
pub const MAX_DIGITS: usize = 38;
/// Largest decimal exponent of the leading digit (9.99…E+125).
pub const MAX_EXPONENT: i32 = 125;
/// Smallest decimal exponent of the leading digit (1E-130).
pub const MIN_EXPONENT: i32 = -130;

/// Why a string or a computed result is not a DynamoDB number. `Display` gives DynamoDB's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("The parameter cannot be converted to a numeric value")]
    Empty,
    #[error("The parameter cannot be converted to a numeric value: {0}")]
    NotNumeric(String),
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    #[error(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )]
    Underflow,
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooManyDigits,
}

/// A valid DynamoDB number in normal form.
///
/// Value = `d0.d1d2…dn × 10^exponent` with `digits = [d0, …, dn]`, `d0 != 0`, `dn != 0`.
/// Zero has no digits, exponent 0 and is never negative.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    digits: Vec<u8>,
    exponent: i32,
}

impl Number {
    pub fn zero() -> Self {
        Number {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        }
    }

    /// Parses DynamoDB's accepted number syntax: optional sign, digits with an optional decimal
    /// point (`.5`, `5.`, `0001.23`), optional exponent (`1e+5`, `-17.4E37`). No whitespace,
    /// no `NaN`/`Infinity`.
    pub fn parse(text: &str) -> Result<Self, NumberError> {
        if text.is_empty() {
            return Err(NumberError::Empty);
        }
        let not_numeric = || NumberError::NotNumeric(text.to_string());
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = match bytes[0] {
            b'-' => {
                i += 1;
                true
            }
            b'+' => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut mantissa = Vec::new();
        let mut integer_digits: i64 = 0;
        let mut seen_point = false;
        while i < bytes.len() {
            match bytes[i] {
                b'0'..=b'9' => {
                    mantissa.push(bytes[i] - b'0');
                    if !seen_point {
                        integer_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if mantissa.is_empty() {
            return Err(not_numeric());
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() {
            if bytes[i] != b'e' && bytes[i] != b'E' {
                return Err(not_numeric());
            }
            i += 1;
            let exponent_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: anything this large is out of range anyway.
                exponent = (exponent * 10 + i64::from(bytes[i] - b'0')).min(1_000_000_000_000);
                i += 1;
            }
            if i == start || i != bytes.len() {
                return Err(not_numeric());
            }
            if exponent_negative {
                exponent = -exponent;
            }
        }
        // The decimal point sits after `integer_digits` mantissa digits.
        let low_exponent = exponent - (mantissa.len() as i64 - integer_digits);
        Self::from_digits(negative, mantissa, low_exponent)
    }

    /// Builds a checked number from big-endian decimal digits times `10^low_exponent`.
    fn from_digits(
        negative: bool,
        mut digits: Vec<u8>,
        low_exponent: i64,
    ) -> Result<Self, NumberError> {
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        let trailing = digits.iter().rev().take_while(|&&d| d == 0).count();
        digits.truncate(digits.len() - trailing);
        if digits.is_empty() {
            return Ok(Self::zero());
        }
        let exponent = low_exponent + trailing as i64 + digits.len() as i64 - 1;
        if exponent > i64::from(MAX_EXPONENT) {
            return Err(NumberError::Overflow);
        }
        if exponent < i64::from(MIN_EXPONENT) {
            return Err(NumberError::Underflow);
        }
        if digits.len() > MAX_DIGITS {
            return Err(NumberError::TooManyDigits);
        }
        Ok(Number {
            negative,
            digits,
            exponent: exponent as i32,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Significant digits, most significant first (empty for zero).
    pub fn digits(&self) -> &[u8] {
        &self.digits
    }

    /// Decimal exponent of the leading digit (0 for zero).
    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    pub fn negated(&self) -> Self {
        let mut n = self.clone();
        if !n.is_zero() {
            n.negative = !n.negative;
        }
        n
    }

    /// Exact sum. DynamoDB rejects results it cannot store exactly (more than 38 digits or out
    /// of range); it reports both as an overflow.
    pub fn checked_add(&self, other: &Number) -> Result<Number, NumberError> {
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let low = self.low_exponent().min(other.low_exponent());
        let a = self.aligned_digits(low);
        let b = other.aligned_digits(low);
        let (negative, digits) = if self.negative == other.negative {
            (self.negative, add_magnitudes(&a, &b))
        } else {
            match compare_magnitudes(&a, &b) {
                Ordering::Equal => return Ok(Number::zero()),
                Ordering::Greater => (self.negative, sub_magnitudes(&a, &b)),
                Ordering::Less => (other.negative, sub_magnitudes(&b, &a)),
            }
        };
        Self::from_digits(negative, digits, low).map_err(|e| match e {
            NumberError::TooManyDigits => NumberError::Overflow,
            other => other,
        })
    }

    pub fn checked_sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.checked_add(&other.negated())
    }

    fn low_exponent(&self) -> i64 {
        i64::from(self.exponent) - (self.digits.len() as i64 - 1)
    }

    /// Digits of |self| as an integer times `10^low`, big-endian.
    fn aligned_digits(&self, low: i64) -> Vec<u8> {
        let pad = (self.low_exponent() - low) as usize;
        let mut digits = self.digits.clone();
        digits.resize(digits.len() + pad, 0);
        digits
    }

    /// The value as an `i64` if it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.low_exponent() < 0 || self.exponent > 18 {
            return None;
        }
        let mut value: i128 = 0;
        for d in self.aligned_digits(0) {
            value = value * 10 + i128::from(d);
        }
        if self.negative {
            value = -value;
        }
        i64::try_from(value).ok()
    }

    /// Nearest `f64` (for TTL timestamps and similar approximate uses).
    pub fn to_f64(&self) -> f64 {
        self.to_string()
            .parse()
            .expect("normal form is valid f64 syntax")
    }
}

fn compare_magnitudes(a: &[u8], b: &[u8]) -> Ordering {
    // Both have the same low exponent; strip leading zeros is unnecessary since the leading
    // digit of each is non-zero, so a longer vector is larger.
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let len = a.len().max(b.len()) + 1;
    let mut out = vec![0u8; len];
    let mut carry = 0;
    for k in 0..len {
        let da = if k < a.len() { a[a.len() - 1 - k] } else { 0 };
        let db = if k < b.len() { b[b.len() - 1 - k] } else { 0 };
        let sum = da + db + carry;
        out[len - 1 - k] = sum % 10;
        carry = sum / 10;
    }
    out
}

/// `a - b` for `a >= b`.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i8;
    for k in 0..a.len() {
        let da = a[a.len() - 1 - k] as i8;
        let db = if k < b.len() {
            b[b.len() - 1 - k] as i8
        } else {
            0
        };
        let mut diff = da - db - borrow;
        borrow = 0;
        if diff < 0 {
            diff += 10;
            borrow = 1;
        }
        out[a.len() - 1 - k] = diff as u8;
    }
    out
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let sign = |n: &Number| {
            if n.is_zero() {
                0
            } else if n.negative {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        let magnitude = self
            .exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Plain decimal notation without exponent, as DynamoDB returns numbers (`1E+3` → `1000`).
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            out.push('-');
        }
        let digit = |d: &u8| char::from(b'0' + d);
        let len = self.digits.len() as i32;
        if self.exponent < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-self.exponent - 1) as usize));
            out.extend(self.digits.iter().map(digit));
        } else if self.exponent >= len - 1 {
            out.extend(self.digits.iter().map(digit));
            out.extend(std::iter::repeat_n(
                '0',
                (self.exponent - (len - 1)) as usize,
            ));
        } else {
            let point = (self.exponent + 1) as usize;
            out.extend(self.digits[..point].iter().map(digit));
            out.push('.');
            out.extend(self.digits[point..].iter().map(digit));
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Self {
        Number::parse(&value.to_string()).expect("every i64 is a valid number")
    }
}

impl From<u64> for Number {
    fn from(value: u64) -> Self {
        Number::parse(&value.to_string()).expect("every u64 is a valid number")
    }
}

impl From<i32> for Number {
    fn from(value: i32) -> Self {
        Number::from(i64::from(value))
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Number::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_dynamodb_syntax_and_normalises() {
        for (input, normal) in [
            ("3", "3"),
            ("-7.1234", "-7.1234"),
            ("-17e5", "-1700000"),
            ("-17.4E37", "-174000000000000000000000000000000000000"),
            ("+3", "3"),
            (".123", "0.123"),
            ("0001.23", "1.23"),
            ("1e+5", "100000"),
            ("0e1000", "0"),
            ("-0", "0"),
            ("-0.000", "0"),
            ("1.50", "1.5"),
            ("5.", "5"),
            ("100", "100"),
            ("0.00012300", "0.000123"),
            ("1E-130", &format!("0.{}1", "0".repeat(129))),
            ("12.5e-1", "1.25"),
        ] {
            assert_eq!(n(input).to_string(), normal, "{input}");
        }
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        for bad in [
            "NaN",
            "Infinity",
            "-Infinity",
            "-NaN",
            "dog",
            "-dog",
            " 1",
            "1 ",
            "1e",
            "e5",
            ".",
            "-",
            "1.2.3",
            "1e5.5",
            "0x10",
            "1_000",
        ] {
            assert_eq!(
                Number::parse(bad),
                Err(NumberError::NotNumeric(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(Number::parse(""), Err(NumberError::Empty));
        assert_eq!(
            Number::parse("").unwrap_err().to_string(),
            "The parameter cannot be converted to a numeric value"
        );
    }

    #[test]
    fn range_and_precision_limits() {
        for ok in [
            "1e10",
            "1e100",
            "1e125",
            "9.99999999e125",
            "1e-100",
            "1e-130",
            "-1e125",
            "-1e-130",
            "3.1415926535897932384626433832795028841",
            "314159265358979323846.26433832795028841",
            "31415926535897932384626433832795028841e30",
            "9.9999999999999999999999999999999999999E+125",
        ] {
            n(ok);
        }
        for over in ["1e126", "11e125", "-1e126", "1e99999999999999999999"] {
            assert_eq!(Number::parse(over), Err(NumberError::Overflow), "{over}");
        }
        for under in ["1e-131", "0.9e-130", "-1e-131"] {
            assert_eq!(Number::parse(under), Err(NumberError::Underflow), "{under}");
        }
        for long in [
            "3.14159265358979323846264338327950288419",
            "123456789012345678901234567890123456789",
            "-1.23456789012345678901234567890123456789",
        ] {
            assert_eq!(
                Number::parse(long),
                Err(NumberError::TooManyDigits),
                "{long}"
            );
        }
        // Zeros around the digits are not significant.
        n("000000000000000000000000000000000000001234567890000000000000000000000000000000000000");
        assert_eq!(
            NumberError::Overflow.to_string(),
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        );
    }

    #[test]
    fn numeric_equality_and_order() {
        assert_eq!(n("1"), n("1.0"));
        assert_eq!(n("100"), n("1e2"));
        assert_eq!(n("0"), n("-0"));
        let ordered = [
            "-1e125",
            "-100",
            "-1.5",
            "-1",
            "-0.001",
            "0",
            "1e-130",
            "0.5",
            "1",
            "1.0000001",
            "2",
            "10",
            "1e125",
        ];
        for pair in ordered.windows(2) {
            assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn exact_arithmetic() {
        let sum = |a: &str, b: &str| n(a).checked_add(&n(b)).map(|r| r.to_string());
        let diff = |a: &str, b: &str| n(a).checked_sub(&n(b)).map(|r| r.to_string());
        assert_eq!(
            sum("1", "10000000000000000000000").unwrap(),
            "10000000000000000000001"
        );
        assert_eq!(
            diff("10000000000000000000000", "1").unwrap(),
            "9999999999999999999999"
        );
        assert_eq!(sum("0.1", "0.2").unwrap(), "0.3");
        assert_eq!(sum("-5", "3").unwrap(), "-2");
        assert_eq!(sum("5", "-5").unwrap(), "0");
        assert_eq!(diff("1.5", "2.25").unwrap(), "-0.75");
        assert_eq!(sum("999", "1").unwrap(), "1000");
        assert_eq!(sum("9e125", "9e125"), Err(NumberError::Overflow));
        assert_eq!(diff("9e125", "-9e125"), Err(NumberError::Overflow));
        // Not representable in 38 digits: DynamoDB calls this an overflow too.
        assert_eq!(diff("1e50", "1"), Err(NumberError::Overflow));
        assert_eq!(sum("1e50", "1"), Err(NumberError::Overflow));
        assert_eq!(diff("1.1e-130", "1e-130"), Err(NumberError::Underflow));
    }

    #[test]
    fn integer_conversion() {
        assert_eq!(n("1.7e9").to_i64(), Some(1_700_000_000));
        assert_eq!(n("-42").to_i64(), Some(-42));
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("1e30").to_i64(), None);
        assert_eq!(Number::from(i64::MIN).to_i64(), Some(i64::MIN));
        assert_eq!(n("1.5").to_f64(), 1.5);
    }
}
