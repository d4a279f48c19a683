//! The contract codec: how arguments, return values, storage values and event data are bytes.
//!
//! Integers are little-endian and fixed-width, `bool` is one byte (0 or 1), `Option` a 0/1 tag then
//! the value, `Vec`, `String` and byte strings a `u32` length then their items, tuples and structs
//! their fields in order, enums a `u8` variant index then the variant's fields. Decoding refuses
//! trailing bytes and lengths beyond the input, so a value has exactly one encoding.
//! `#[derive(Codec)]` implements both traits for structs and enums.

use alloc::string::String;
use alloc::vec::Vec;

/// Why bytes did not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended early.
    Short,
    /// A tag, a `bool` or UTF-8 was invalid.
    Invalid,
    /// Bytes were left after the value.
    Trailing,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DecodeError::Short => "input too short",
            DecodeError::Invalid => "invalid encoding",
            DecodeError::Trailing => "trailing bytes",
        })
    }
}

/// A value that has a canonical encoding.
pub trait Codec: Sized {
    /// Appends the encoding to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);
    /// Reads one value from the front of `input`, advancing it.
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError>;
}

/// The encoding of `value`.
pub fn encode<T: Codec>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode_to(&mut out);
    out
}

/// Decodes exactly one value from `bytes`.
pub fn decode<T: Codec>(mut bytes: &[u8]) -> Result<T, DecodeError> {
    let value = T::decode_from(&mut bytes)?;
    if !bytes.is_empty() {
        return Err(DecodeError::Trailing);
    }
    Ok(value)
}

/// Takes `n` bytes off the front of `input`.
pub fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < n {
        return Err(DecodeError::Short);
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
                let bytes = take(input, core::mem::size_of::<$t>())?;
                Ok(<$t>::from_le_bytes(bytes.try_into().map_err(|_| DecodeError::Short)?))
            }
        }
    )*};
}
integer!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128);

impl Codec for bool {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match take(input, 1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid),
        }
    }
}

impl Codec for () {
    fn encode_to(&self, _out: &mut Vec<u8>) {}
    fn decode_from(_input: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl<const N: usize> Codec for [u8; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        take(input, N)?.try_into().map_err(|_| DecodeError::Short)
    }
}

fn length(input: &mut &[u8]) -> Result<usize, DecodeError> {
    let len = u32::decode_from(input)? as usize;
    // No item encodes in zero bytes except `()`, so a length beyond the input is a lie.
    if len > input.len() {
        return Err(DecodeError::Short);
    }
    Ok(len)
}

impl<T: Codec> Codec for Vec<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        (self.len() as u32).encode_to(out);
        for item in self {
            item.encode_to(out);
        }
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let len = length(input)?;
        (0..len).map(|_| T::decode_from(input)).collect()
    }
}

impl Codec for String {
    fn encode_to(&self, out: &mut Vec<u8>) {
        (self.len() as u32).encode_to(out);
        out.extend_from_slice(self.as_bytes());
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let len = length(input)?;
        String::from_utf8(take(input, len)?.to_vec()).map_err(|_| DecodeError::Invalid)
    }
}

impl<T: Codec> Codec for Option<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                value.encode_to(out);
            }
        }
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match take(input, 1)?[0] {
            0 => Ok(None),
            1 => Ok(Some(T::decode_from(input)?)),
            _ => Err(DecodeError::Invalid),
        }
    }
}

macro_rules! tuple {
    ($($name:ident),+) => {
        impl<$($name: Codec),+> Codec for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode_to(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode_to(out);)+
            }
            fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok(($($name::decode_from(input)?,)+))
            }
        }
    };
}
tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
tuple!(A, B, C, D, E, F, G);
tuple!(A, B, C, D, E, F, G, H);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn values_round_trip_and_refuse_bad_bytes() {
        let value = (7u8, 300u32, -5i64, u128::MAX, true, Some(String::from("hi")), vec![[1u8; 2], [2u8; 2]]);
        let bytes = encode(&value);
        assert_eq!(decode::<(u8, u32, i64, u128, bool, Option<String>, Vec<[u8; 2]>)>(&bytes), Ok(value));
        assert_eq!(decode::<u32>(&[1, 0, 0]), Err(DecodeError::Short));
        assert_eq!(decode::<u8>(&[1, 0]), Err(DecodeError::Trailing));
        assert_eq!(decode::<bool>(&[2]), Err(DecodeError::Invalid));
        assert_eq!(decode::<Vec<u8>>(&[255, 255, 255, 255]), Err(DecodeError::Short));
        assert_eq!(encode(&String::from("ab")), vec![2, 0, 0, 0, b'a', b'b']);
    }
}
