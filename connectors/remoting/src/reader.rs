//! A bounds-checked big-endian cursor over a byte slice (internal). Every read either returns
//! the value or a [`Short`] error naming what was being read — never a panic.

/// Not enough bytes for `what`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short {
    pub what: &'static str,
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// A reader of `buf` positioned at `pos` (which may lie past the end: every read then fails).
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Short> {
        let end = self.pos.checked_add(n).ok_or(Short { what })?;
        let out = self.buf.get(self.pos..end).ok_or(Short { what })?;
        self.pos = end;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Short> {
        let b = self.bytes(N, what)?;
        <[u8; N]>::try_from(b).map_err(|_| Short { what })
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, Short> {
        let [b] = self.array::<1>(what)?;
        Ok(b)
    }

    pub fn i16(&mut self, what: &'static str) -> Result<i16, Short> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    pub fn i32(&mut self, what: &'static str) -> Result<i32, Short> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub fn i64(&mut self, what: &'static str) -> Result<i64, Short> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }
}
