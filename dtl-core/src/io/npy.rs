//! The NumPy `.npy` format, versions 1.0, 2.0 and 3.0 (pure: no I/O).
//!
//! A `.npy` file is the 6-byte magic `\x93NUMPY`, a major and a minor
//! version byte, the header length (little-endian `u16` in 1.0, `u32` in
//! 2.0 and 3.0), and the header: the `repr` of a Python dict with the keys
//! `'descr'` (the dtype string, e.g. `'<f8'`), `'fortran_order'` and
//! `'shape'`, padded with spaces and ended by `'\n'` so that the data
//! starts at a multiple of 64 bytes. The elements follow, in C (row-major)
//! order, or in Fortran order when `fortran_order` is true.
//!
//! [`header_bytes`] writes exactly what `numpy.save` writes for the same
//! array (byte for byte, including NumPy's spare room for growing the first
//! axis); [`parse_prefix`] and [`parse_header`] read every header NumPy can
//! write, and the Python 2 style (`(3L, 4L)`) too.

use crate::element::DType;

/// The magic string every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Data starts at a multiple of this many bytes (NumPy's `ARRAY_ALIGN`).
pub const ALIGN: usize = 64;

/// NumPy leaves room in the header for the growing axis to reach this many
/// digits (`GROWTH_AXIS_MAX_DIGITS`), so that appending rows can rewrite
/// the header in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Largest header dtl accepts on read, in bytes (NumPy itself refuses
/// headers above 10 000 bytes unless told otherwise).
pub const MAX_HEADER_LEN: usize = 1 << 20;

/// The header of a `.npy` file, as [`read_header`](super::read_header)
/// returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version `(major, minor)`: `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub version: (u8, u8),
    /// The element type.
    pub dtype: DType,
    /// True when the file stores its elements big-endian (`'>'` in the
    /// descr); dtl swaps them to native order on load. Always false for
    /// one-byte types.
    pub big_endian: bool,
    /// True when the elements are stored in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The global shape (`[]` for a 0-d array).
    pub shape: Vec<usize>,
    /// Offset of the first element from the start of the file, in bytes.
    pub data_offset: u64,
}

impl NpyHeader {
    /// Number of elements (the product of `shape`; 1 for a 0-d array).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Size of the data in bytes (`len() * dtype.size_bytes()`).
    pub fn data_bytes(&self) -> u64 {
        self.len() as u64 * self.dtype.size_bytes() as u64
    }
}

/// The descr string of `dtype` in this machine's byte order, as NumPy
/// writes it: `'|i1'`, `'|u1'`, `'<f8'`, … (`'>'` on a big-endian host).
pub fn descr(dtype: DType) -> String {
    let order = if dtype.size_bytes() == 1 {
        '|'
    } else if cfg!(target_endian = "big") {
        '>'
    } else {
        '<'
    };
    let kind = match dtype {
        DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64 => 'i',
        DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => 'u',
        DType::Float32 | DType::Float64 => 'f',
    };
    format!("{order}{kind}{}", dtype.size_bytes())
}

/// Python's `repr` of a tuple of ints: `()`, `(5,)`, `(3, 4)`.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// The complete header (magic, version, length and padded dict) that
/// `numpy.save` writes for a C-order (`fortran_order = false`) or
/// Fortran-order array of `dtype` and `shape` in native byte order. Its
/// length is a multiple of [`ALIGN`]. Version 1.0 unless the dict is longer
/// than 65 535 bytes (then 2.0, as NumPy does).
pub fn header_bytes(dtype: DType, shape: &[usize], fortran_order: bool) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}",
        descr(dtype),
        if fortran_order { "True" } else { "False" },
        shape_repr(shape)
    );
    if !shape.is_empty() {
        let grow = if fortran_order { shape[shape.len() - 1] } else { shape[0] };
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(grow.to_string().len())));
    }
    let wrap = |len_bytes: usize| -> Option<Vec<u8>> {
        let hlen = dict.len() + 1;
        let pad = ALIGN - (MAGIC.len() + 2 + len_bytes + hlen) % ALIGN;
        let total = hlen + pad;
        let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_bytes + total);
        out.extend_from_slice(MAGIC);
        if len_bytes == 2 {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&u16::try_from(total).ok()?.to_le_bytes());
        } else {
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&u32::try_from(total).ok()?.to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', pad));
        out.push(b'\n');
        Some(out)
    };
    wrap(2).or_else(|| wrap(4)).expect("a .npy header of at most 8 dimensions fits format 2.0")
}

/// The fixed part of a header: `(version, header length, prefix length)`,
/// where the dict starts at the prefix length and the data at prefix +
/// header length. `bytes` holds the first bytes of the file (12 suffice);
/// `file_size` is the whole file's size, for the truncation message.
///
/// # Errors
/// A message (to be prefixed with the path) if the file does not start with
/// the magic string, has a version other than 1.0, 2.0 or 3.0, or is too
/// short to hold its own header.
pub fn parse_prefix(bytes: &[u8], file_size: u64) -> Result<((u8, u8), usize, usize), String> {
    if file_size == 0 {
        return Err("not a .npy file (the file is empty)".into());
    }
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err("not a .npy file (it does not start with the magic string \\x93NUMPY)".into());
    }
    let truncated = || format!("the file is truncated: {file_size} bytes, too short to hold its .npy header");
    if bytes.len() < 8 {
        return Err(truncated());
    }
    let version = (bytes[6], bytes[7]);
    let (len_bytes, prefix) = match version {
        (1, 0) => (2, 10),
        (2, 0) | (3, 0) => (4, 12),
        (a, b) => return Err(format!("unsupported .npy format version {a}.{b} (dtl reads 1.0, 2.0 and 3.0)")),
    };
    if bytes.len() < prefix {
        return Err(truncated());
    }
    let hlen = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    if hlen > MAX_HEADER_LEN {
        return Err(format!("the .npy header claims {hlen} bytes; dtl accepts at most {MAX_HEADER_LEN}"));
    }
    if (prefix + hlen) as u64 > file_size {
        return Err(format!(
            "the file is truncated: {file_size} bytes, but its .npy header alone needs {} bytes",
            prefix + hlen
        ));
    }
    Ok((version, hlen, prefix))
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Bool(bool),
    Int(u128),
    None,
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn err(&self, what: &str) -> String {
        format!("malformed .npy header: {what} at byte {} of the header dict", self.i)
    }
    /// Comma-separated items up to `close`; returns them and whether a
    /// trailing comma followed the last one.
    fn items(&mut self, close: u8, depth: usize) -> Result<(Vec<Lit>, bool), String> {
        let mut v = Vec::new();
        let mut trailing = false;
        loop {
            if self.eat(close) {
                return Ok((v, trailing));
            }
            if !v.is_empty() && !trailing {
                return Err(self.err("expected ',' or a closing bracket"));
            }
            v.push(self.value(depth + 1)?);
            trailing = self.eat(b',');
        }
    }
    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > 16 {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end")),
            Some(q @ (b'\'' | b'"')) => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    match self.s.get(self.i) {
                        None => return Err(self.err("unterminated string")),
                        Some(&c) if c == q => {
                            self.i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let c = *self.s.get(self.i + 1).ok_or_else(|| self.err("unterminated string"))?;
                            out.push(match c {
                                b'n' => b'\n',
                                b't' => b'\t',
                                other => other,
                            });
                            self.i += 2;
                        }
                        Some(&c) => {
                            out.push(c);
                            self.i += 1;
                        }
                    }
                }
                Ok(Lit::Str(String::from_utf8_lossy(&out).into_owned()))
            }
            Some(b'(') => {
                self.i += 1;
                let (v, trailing) = self.items(b')', depth)?;
                // `(x)` is x in Python; `(x,)` is a one-tuple.
                if v.len() == 1 && !trailing {
                    Ok(v.into_iter().next().expect("one item"))
                } else {
                    Ok(Lit::Tuple(v))
                }
            }
            Some(b'[') => {
                self.i += 1;
                Ok(Lit::List(self.items(b']', depth)?.0))
            }
            Some(b'{') => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    if self.eat(b'}') {
                        return Ok(Lit::Dict(v));
                    }
                    let k = self.value(depth + 1)?;
                    if !self.eat(b':') {
                        return Err(self.err("expected ':' after a dict key"));
                    }
                    let val = self.value(depth + 1)?;
                    v.push((k, val));
                    if !self.eat(b',') {
                        if self.eat(b'}') {
                            return Ok(Lit::Dict(v));
                        }
                        return Err(self.err("expected ',' or '}' in the dict"));
                    }
                }
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII digits");
                let v: u128 = digits.parse().map_err(|_| self.err("integer too large"))?;
                if matches!(self.s.get(self.i), Some(b'L' | b'l')) {
                    self.i += 1; // Python 2 long suffix
                }
                Ok(Lit::Int(v))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_') {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    b"True" => Ok(Lit::Bool(true)),
                    b"False" => Ok(Lit::Bool(false)),
                    b"None" => Ok(Lit::None),
                    other => Err(self.err(&format!("unexpected name {:?}", String::from_utf8_lossy(other)))),
                }
            }
            Some(b'-') => Err(self.err("negative number")),
            Some(c) => Err(self.err(&format!("unexpected character {:?}", c as char))),
        }
    }
}

/// The dtype of a descr string: `'<f8'`, `'|u1'`, `'>i4'`, `'=f4'`, `'i2'`
/// (no order: native), … Returns `(dtype, big_endian)`.
///
/// # Errors
/// A message naming the descr for every dtype dtl does not hold (bool,
/// complex, float16, long double, strings, objects, datetimes, structured).
pub fn parse_descr(descr: &str) -> Result<(DType, bool), String> {
    let unsupported = |why: &str| {
        format!("unsupported dtype '{descr}'{why}; dtl loads only {} (in either byte order)", DType::supported_names())
    };
    let (order, rest) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('=', descr),
    };
    let native_big = cfg!(target_endian = "big");
    let big = match order {
        '>' => true,
        '<' => false,
        _ => native_big,
    };
    let dtype = match rest {
        "i1" | "b" => DType::Int8,
        "u1" | "B" => DType::UInt8,
        "i2" | "h" => DType::Int16,
        "u2" | "H" => DType::UInt16,
        "i4" => DType::Int32,
        "u4" => DType::UInt32,
        "i8" | "q" => DType::Int64,
        "u8" | "Q" => DType::UInt64,
        "f4" | "f" => DType::Float32,
        "f8" | "d" => DType::Float64,
        r if r.starts_with('c') => return Err(unsupported(" (complex)")),
        r if r.starts_with('b') || r == "?" => return Err(unsupported(" (bool)")),
        r if r.starts_with('O') => return Err(unsupported(" (Python objects)")),
        r if r.starts_with('U') || r.starts_with('S') || r.starts_with('a') => return Err(unsupported(" (strings)")),
        r if r.starts_with('V') => return Err(unsupported(" (void/structured)")),
        r if r.starts_with('M') || r.starts_with('m') => return Err(unsupported(" (datetime)")),
        _ => return Err(unsupported("")),
    };
    Ok((dtype, big && dtype.size_bytes() > 1))
}

/// Parses the header dict (the `hlen` bytes after the prefix) of a file of
/// format `version`, with the data at `data_offset`.
///
/// # Errors
/// A message (to be prefixed with the path) for a malformed dict, a missing
/// or ill-typed key, an unsupported dtype, or a shape whose byte size does
/// not fit in 64 bits.
pub fn parse_header(header: &[u8], version: (u8, u8), data_offset: u64) -> Result<NpyHeader, String> {
    // 1.0 and 2.0 are latin-1, 3.0 is UTF-8; the parser only needs ASCII
    // outside string literals either way.
    let _ = version;
    let mut p = Parser { s: header, i: 0 };
    let dict = match p.value(0)? {
        Lit::Dict(d) => d,
        _ => return Err("malformed .npy header: it is not a dict".into()),
    };
    if p.peek().is_some() {
        return Err(p.err("unexpected text after the dict"));
    }
    let get = |key: &str| {
        dict.iter()
            .find(|(k, _)| matches!(k, Lit::Str(s) if s == key))
            .map(|(_, v)| v)
            .ok_or_else(|| format!("malformed .npy header: no '{key}' key"))
    };
    let (dtype, big_endian) = match get("descr")? {
        Lit::Str(s) => parse_descr(s)?,
        Lit::List(_) => {
            return Err(format!("unsupported dtype (a structured dtype); dtl loads only {}", DType::supported_names()))
        }
        other => return Err(format!("malformed .npy header: 'descr' is {other:?}, not a string")),
    };
    let fortran_order = match get("fortran_order")? {
        Lit::Bool(b) => *b,
        other => return Err(format!("malformed .npy header: 'fortran_order' is {other:?}, not True or False")),
    };
    let shape = match get("shape")? {
        Lit::Tuple(v) => v
            .iter()
            .map(|d| match d {
                Lit::Int(x) => usize::try_from(*x).map_err(|_| format!("shape entry {x} is too large")),
                other => Err(format!("malformed .npy header: shape entry {other:?} is not an integer")),
            })
            .collect::<Result<Vec<usize>, String>>()?,
        // `(5)` parses as the integer 5; NumPy itself never writes that.
        Lit::Int(x) => vec![usize::try_from(*x).map_err(|_| format!("shape entry {x} is too large"))?],
        other => return Err(format!("malformed .npy header: 'shape' is {other:?}, not a tuple")),
    };
    let total = shape
        .iter()
        .try_fold(dtype.size_bytes() as u64, |a, &d| a.checked_mul(d as u64))
        .filter(|&b| b <= i64::MAX as u64);
    if total.is_none() {
        return Err(format!("shape {shape:?} of {dtype} has more bytes than a file can hold"));
    }
    Ok(NpyHeader { version, dtype, big_endian, fortran_order, shape, data_offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_numpy_bytes() {
        // What numpy 2.4 `np.save` writes before the data, for np.zeros(10),
        // np.zeros((), np.uint8) and np.zeros((3, 4, 5), np.int32, order='F').
        let pad = |dict: &str| {
            let mut v = b"\x93NUMPY\x01\x00v\x00".to_vec();
            v.extend_from_slice(dict.as_bytes());
            v.extend(std::iter::repeat_n(b' ', 117 - dict.len()));
            v.push(b'\n');
            v
        };
        let cases = [
            (DType::Float64, vec![10], false, "{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }"),
            (DType::UInt8, vec![], false, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }"),
            (DType::Int32, vec![3, 4, 5], true, "{'descr': '<i4', 'fortran_order': True, 'shape': (3, 4, 5), }"),
        ];
        for (d, shape, f, dict) in cases {
            assert_eq!(header_bytes(d, &shape, f), pad(dict), "{dict}");
        }
        for n in [0usize, 1, 7, 100, 123_456_789_012] {
            assert_eq!(header_bytes(DType::Int16, &[n, 3], false).len() % ALIGN, 0);
        }
    }

    #[test]
    fn round_trip_every_dtype_and_shape() {
        for d in DType::ALL {
            for shape in [vec![], vec![0], vec![1], vec![7], vec![100, 3], vec![2, 0, 4], vec![1; 8]] {
                for f in [false, true] {
                    let h = header_bytes(d, &shape, f);
                    let (ver, hlen, prefix) = parse_prefix(&h[..12], h.len() as u64).unwrap();
                    assert_eq!((ver, prefix + hlen), ((1, 0), h.len()));
                    let got = parse_header(&h[prefix..], ver, h.len() as u64).unwrap();
                    assert_eq!(got.dtype, d);
                    assert_eq!(got.shape, shape);
                    assert_eq!(got.fortran_order, f);
                    assert!(!got.big_endian || cfg!(target_endian = "big"));
                    assert_eq!(got.data_offset, h.len() as u64);
                }
            }
        }
    }

    #[test]
    fn parses_foreign_headers() {
        let h = parse_header(b"{'descr':'>f8','fortran_order':False,'shape':(3L, 4L)}   \n", (1, 0), 64).unwrap();
        assert_eq!((h.dtype, h.big_endian, h.shape.clone()), (DType::Float64, true, vec![3, 4]));
        let h = parse_header(b"{\"shape\": (5,), \"fortran_order\": True, \"descr\": \"<i2\"}\n", (3, 0), 128).unwrap();
        assert_eq!((h.dtype, h.fortran_order, h.shape.clone(), h.version), (DType::Int16, true, vec![5], (3, 0)));
        let h = parse_header(b"{'descr': '|i1', 'fortran_order': False, 'shape': (), }", (2, 0), 64).unwrap();
        assert_eq!(h.shape, Vec::<usize>::new());
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse_prefix(b"hello world!", 100).unwrap_err().contains("not a .npy file"));
        assert!(parse_prefix(b"\x93NUM", 4).unwrap_err().contains("truncated"));
        assert!(parse_prefix(b"\x93NUMPY\x04\x00\x10\x00", 100).unwrap_err().contains("version 4.0"));
        assert!(parse_prefix(b"\x93NUMPY\x01\x00\x76\x00", 100).unwrap_err().contains("truncated"));
        for (descr, word) in [
            ("<c16", "complex"),
            ("|b1", "bool"),
            ("|O", "objects"),
            ("<U3", "strings"),
            ("|S5", "strings"),
            ("<f2", "unsupported dtype '<f2'"),
            ("<M8[ns]", "datetime"),
        ] {
            let text = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3,), }}");
            let e = parse_header(text.as_bytes(), (1, 0), 64).unwrap_err();
            assert!(e.contains(word), "{descr}: {e}");
        }
        let e = parse_header(b"{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (3,), }", (1, 0), 64);
        assert!(e.unwrap_err().contains("structured"));
        for bad in [
            &b"{'descr': '<f8', 'shape': (3,), }"[..],
            b"{'descr': '<f8', 'fortran_order': 1, 'shape': (3,), }",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,)",
            b"[1, 2]",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
        ] {
            assert!(parse_header(bad, (1, 0), 64).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
