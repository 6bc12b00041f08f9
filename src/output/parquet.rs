//! Parquet tables: written atomically (through [`super::atomic`]) and read back.
//!
//! Tables are written with zstd compression and min/max/null-count statistics. Identical frames
//! produce byte-identical files (tested below), which the determinism contract relies on.
//! [`Frame`] reads a table back as plain columns for charts and report text.

use std::fs::File;
use std::path::Path;

use polars::prelude::{
    DataFrame, DataType, ParquetCompression, ParquetReader, ParquetWriter, SerReader, StatisticsOptions,
};

use super::atomic::{IoError, write_atomic_with};

/// Writes `df` to `path` as Parquet (zstd, min/max/null-count statistics) atomically.
///
/// Takes `&mut` because polars may rechunk the frame before writing; the values are unchanged.
/// Columns are encoded in parallel on polars' own thread pool; see [`write_parquet_serial_atomic`]
/// for callers that are themselves one of many parallel workers.
pub fn write_parquet_atomic(path: impl AsRef<Path>, df: &mut DataFrame) -> Result<(), IoError> {
    write_parquet(path.as_ref(), df, true)
}

/// [`write_parquet_atomic`] with every column encoded on the calling thread: the same bytes
/// (tested below), no task handed to polars' thread pool. Sweep workers use it: they already
/// keep every core busy with one run each, and a worker never waits on another pool.
pub fn write_parquet_serial_atomic(path: impl AsRef<Path>, df: &mut DataFrame) -> Result<(), IoError> {
    write_parquet(path.as_ref(), df, false)
}

fn write_parquet(path: &Path, df: &mut DataFrame, parallel: bool) -> Result<(), IoError> {
    write_atomic_with(path, |w| {
        ParquetWriter::new(w)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::default())
            .set_parallel(parallel)
            .finish(df)
            .map(|_| ())
            .map_err(|source| IoError::Parquet { path: path.to_path_buf(), source })
    })
}

/// Reads a whole Parquet file into a DataFrame.
pub fn read_parquet(path: impl AsRef<Path>) -> Result<DataFrame, IoError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| IoError::Read { path: path.to_path_buf(), source })?;
    ParquetReader::new(file).finish().map_err(|source| IoError::Parquet { path: path.to_path_buf(), source })
}

/// A table read back, with columns as plain vectors: numbers as `f64` with null → NaN, strings
/// as `String` with null → "". A missing column reads as empty, so a table written by an older
/// version gives an emptier chart, never a panic.
pub struct Frame {
    df: DataFrame,
}

impl Frame {
    /// Reads the Parquet file at `path`.
    pub fn read(path: &Path) -> Result<Self, IoError> {
        read_parquet(path).map(|df| Frame { df })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.df.height()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame itself.
    pub fn frame(&self) -> &DataFrame {
        &self.df
    }

    /// A numeric column as `f64` (null → NaN); empty when missing or not numeric.
    pub fn f64(&self, name: &str) -> Vec<f64> {
        let Ok(col) = self.df.column(name) else { return Vec::new() };
        let Ok(cast) = col.cast(&DataType::Float64) else { return Vec::new() };
        match cast.f64() {
            Ok(ca) => ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// An unsigned integer column (null → `None`); empty when missing or not numeric.
    pub fn u64(&self, name: &str) -> Vec<Option<u64>> {
        let Ok(col) = self.df.column(name) else { return Vec::new() };
        let Ok(cast) = col.cast(&DataType::UInt64) else { return Vec::new() };
        match cast.u64() {
            Ok(ca) => ca.iter().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A string column (null → ""); empty when missing.
    pub fn str(&self, name: &str) -> Vec<String> {
        let Ok(col) = self.df.column(name) else { return Vec::new() };
        let Ok(cast) = col.cast(&DataType::String) else { return Vec::new() };
        match cast.str() {
            Ok(ca) => ca.iter().map(|v| v.unwrap_or("").to_string()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// First value of a numeric column (NaN when missing).
    pub fn first(&self, name: &str) -> f64 {
        self.f64(name).first().copied().unwrap_or(f64::NAN)
    }

    /// Row indices where string column `key` equals `value`.
    pub fn rows_where(&self, key: &str, value: &str) -> Vec<usize> {
        self.str(key).iter().enumerate().filter(|(_, v)| *v == value).map(|(i, _)| i).collect()
    }

    /// Values of numeric column `name` at `rows`.
    pub fn pick(&self, name: &str, rows: &[usize]) -> Vec<f64> {
        let col = self.f64(name);
        rows.iter().map(|&i| col.get(i).copied().unwrap_or(f64::NAN)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::atomic::test_support::{fresh_dir, leftover_temps};
    use super::super::atomic::write_atomic;
    use super::*;
    use polars::prelude::{Column, NamedFrom, Series};
    use std::fs;

    fn sample_frame(rows: usize) -> DataFrame {
        let ids: Vec<u64> = (0..rows as u64).collect();
        let prices: Vec<f64> = (0..rows).map(|i| (i as f64).sin() * 100.0 + 250.0).collect();
        let kinds: Vec<String> = (0..rows).map(|i| format!("task-{}", i % 7)).collect();
        let maybe: Vec<Option<i64>> = (0..rows).map(|i| (i % 3 != 0).then_some(i as i64 * -3)).collect();
        DataFrame::new_infer_height(vec![
            Column::from(Series::new("id".into(), ids)),
            Column::from(Series::new("price_per_unit".into(), prices)),
            Column::from(Series::new("task_type".into(), kinds)),
            Column::from(Series::new("maybe".into(), maybe)),
        ])
        .expect("frame")
    }

    #[test]
    fn read_errors_name_the_path() {
        let dir = fresh_dir("io-read-error");
        write_atomic(dir.join("blocker"), b"x").expect("write");
        let err = read_parquet(dir.join("missing.parquet")).unwrap_err();
        assert!(err.to_string().contains("missing.parquet"), "{err}");
        let err = read_parquet(dir.join("blocker")).unwrap_err();
        assert!(matches!(err, IoError::Parquet { .. }), "{err}");
    }

    #[test]
    fn parquet_round_trip_is_byte_identical() {
        let dir = fresh_dir("io-parquet");
        let mut df = sample_frame(10_000);
        let a = dir.join("a.parquet");
        let b = dir.join("b.parquet");
        write_parquet_atomic(&a, &mut df).expect("write a");
        write_parquet_atomic(&b, &mut sample_frame(10_000)).expect("write b");
        let bytes_a = fs::read(&a).expect("read a");
        assert!(bytes_a.starts_with(b"PAR1"));
        assert_eq!(bytes_a, fs::read(&b).expect("read b"));
        let back = read_parquet(&a).expect("read back");
        assert!(back.equals_missing(&df));
        assert!(leftover_temps(&dir).is_empty());
    }

    #[test]
    fn serial_and_parallel_encoding_write_the_same_bytes() {
        let dir = fresh_dir("io-parquet-serial");
        let (a, b) = (dir.join("parallel.parquet"), dir.join("serial.parquet"));
        write_parquet_atomic(&a, &mut sample_frame(50_000)).expect("write parallel");
        write_parquet_serial_atomic(&b, &mut sample_frame(50_000)).expect("write serial");
        assert_eq!(fs::read(&a).expect("read a"), fs::read(&b).expect("read b"));
    }

    #[test]
    fn parquet_empty_frame_round_trips() {
        let dir = fresh_dir("io-parquet-empty");
        let mut df = sample_frame(0);
        let path = dir.join("empty.parquet");
        write_parquet_atomic(&path, &mut df).expect("write");
        let back = read_parquet(&path).expect("read");
        assert_eq!(back.height(), 0);
        assert_eq!(back.schema(), df.schema());
    }
}
