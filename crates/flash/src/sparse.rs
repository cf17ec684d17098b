//! Data regions of a sparse file via SEEK_DATA / SEEK_HOLE. Filesystems without hole support
//! report the whole file as data, which is correct, only slower to flash.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;

/// Byte ranges of `file` that hold data, in order, not merged across holes.
pub fn data_ranges(file: &File) -> io::Result<Vec<Range<u64>>> {
    let size = file.metadata()?.len();
    let fd = file.as_raw_fd();
    let mut ranges = Vec::new();
    let mut offset = 0u64;
    while offset < size {
        let data = match seek(fd, offset, libc::SEEK_DATA) {
            Ok(data) => data,
            // ENXIO: no data at or after `offset`, the rest is a hole.
            Err(error) if error.raw_os_error() == Some(libc::ENXIO) => break,
            Err(error) => return Err(error),
        };
        let hole = seek(fd, data, libc::SEEK_HOLE)?.min(size);
        if hole > data {
            ranges.push(data..hole);
        }
        offset = hole;
    }
    Ok(ranges)
}

fn seek(fd: i32, offset: u64, whence: i32) -> io::Result<u64> {
    // SAFETY: lseek on a descriptor we borrow; it only moves the file offset.
    let result = unsafe { libc::lseek(fd, offset as libc::off_t, whence) };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn finds_data_between_holes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse.img");
        let file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        file.set_len(64 << 20).unwrap();
        file.write_all_at(&[7u8; 8192], 1 << 20).unwrap();
        file.write_all_at(&[9u8; 4096], 32 << 20).unwrap();
        let ranges = data_ranges(&file).unwrap();
        let covered: u64 = ranges.iter().map(|range| range.end - range.start).sum();
        assert!(ranges.iter().any(|range| range.contains(&(1 << 20))));
        assert!(ranges.iter().any(|range| range.contains(&(32 << 20))));
        // A filesystem with hole support maps only around the written data.
        if covered < (64 << 20) {
            assert!(!ranges.iter().any(|range| range.contains(&(16 << 20))));
        }
    }
}
