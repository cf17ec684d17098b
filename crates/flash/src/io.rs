//! Low-level pieces: page-aligned buffers for O_DIRECT, toggling O_DIRECT, syncing.

use std::alloc::{self, Layout};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

/// O_DIRECT needs buffers aligned to the device's logical block size; a page covers every
/// device we meet (512 and 4096 byte sectors).
pub const ALIGNMENT: usize = 4096;

pub struct AlignedBuffer {
    pointer: NonNull<u8>,
    length: usize,
}

// SAFETY: the buffer owns its allocation exclusively; moving it between threads is sound.
unsafe impl Send for AlignedBuffer {}

impl AlignedBuffer {
    pub fn new(length: usize) -> Self {
        let layout = Layout::from_size_align(length, ALIGNMENT).expect("buffer size fits a Layout");
        // SAFETY: `length` is non-zero for every caller (chunk sizes are constants > 0).
        let pointer = unsafe { alloc::alloc_zeroed(layout) };
        let pointer = NonNull::new(pointer).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        Self { pointer, length }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `pointer` is valid for `length` initialised bytes (zeroed at allocation).
        unsafe { std::slice::from_raw_parts(self.pointer.as_ptr(), self.length) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.pointer.as_ptr(), self.length) }
    }
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.length, ALIGNMENT)
            .expect("layout was valid at allocation");
        // SAFETY: allocated in `new` with this very layout.
        unsafe { alloc::dealloc(self.pointer.as_ptr(), layout) }
    }
}

/// Turns O_DIRECT on or off for an open file; Linux allows changing it with F_SETFL.
/// Fails (EINVAL) where the filesystem has no direct I/O, e.g. tmpfs.
pub fn set_direct(file: &File, direct: bool) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we borrow; only its status flags change.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if direct {
        flags | libc::O_DIRECT
    } else {
        flags & !libc::O_DIRECT
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Drops the file's cached pages so that the next buffered reads come from the device.
pub fn drop_cache(file: &File) {
    // SAFETY: advisory call on a descriptor we borrow.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
}

pub fn advise_sequential(file: &File) {
    // SAFETY: advisory call on a descriptor we borrow.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
}

/// Asks the kernel to re-read a disk's partition table (BLKRRPART), so that /dev/sdX1…
/// match what was just written. Fails harmlessly on devices without partition scanning.
pub fn reread_partition_table(file: &File) -> io::Result<()> {
    const BLKRRPART: libc::c_ulong = 0x125f;
    // SAFETY: BLKRRPART takes no argument; the descriptor is a block device we hold open.
    if unsafe { libc::ioctl(file.as_raw_fd(), BLKRRPART as _) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
