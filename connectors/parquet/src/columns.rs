//! A record batch's columns by name and type, for reading archive files back: a missing column
//! or one of another type is a [`ArchiveError::BadArchive`] naming the file.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};

use crate::error::ArchiveError;

/// The columns of one batch read from `file`.
pub(crate) struct Columns<'a> {
    batch: &'a RecordBatch,
    file: &'a Path,
}

impl<'a> Columns<'a> {
    pub(crate) fn new(batch: &'a RecordBatch, file: &'a Path) -> Columns<'a> {
        Columns { batch, file }
    }

    /// The error for what is wrong with the file.
    pub(crate) fn bad(&self, reason: impl Into<String>) -> ArchiveError {
        ArchiveError::BadArchive {
            file: self.file.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn column(&self, name: &str) -> Result<&'a ArrayRef, ArchiveError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.bad(format!("no column {name}")))
    }

    pub(crate) fn utf8(&self, name: &str) -> Result<&'a StringArray, ArchiveError> {
        self.column(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| self.bad(format!("column {name} is not utf8")))
    }

    pub(crate) fn i32s(&self, name: &str) -> Result<&'a Int32Array, ArchiveError> {
        self.column(name)?
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| self.bad(format!("column {name} is not int32")))
    }

    pub(crate) fn i64s(&self, name: &str) -> Result<&'a Int64Array, ArchiveError> {
        self.column(name)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| self.bad(format!("column {name} is not int64")))
    }

    pub(crate) fn times(&self, name: &str) -> Result<&'a TimestampMillisecondArray, ArchiveError> {
        self.column(name)?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or_else(|| self.bad(format!("column {name} is not timestamp[ms]")))
    }

    pub(crate) fn bools(&self, name: &str) -> Result<&'a BooleanArray, ArchiveError> {
        self.column(name)?
            .as_boolean_opt()
            .ok_or_else(|| self.bad(format!("column {name} is not bool")))
    }
}
