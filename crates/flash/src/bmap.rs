//! Block maps in bmaptool's XML format (version 2.0): which blocks of an image hold data, with a
//! sha256 per mapped range. `bmaptool copy --bmap` reads what [`BlockMap::to_xml`] writes.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::sparse;

/// Block size of the maps we create; bmaptool uses the same.
pub const DEFAULT_BLOCK_SIZE: u64 = 4096;
const SUPPORTED_MAJOR_VERSION: u32 = 2;
const HASH_BUFFER: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum BmapError {
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("block map {path} is not valid XML: {reason}")]
    Xml { path: String, reason: String },
    #[error(
        "block map {path} is invalid: {reason}; regenerate it with `sweetlies-appliance build` or `bmaptool create`"
    )]
    Invalid { path: String, reason: String },
    #[error(
        "block map {path} is corrupt: its BmapFileChecksum is {recorded} but the file hashes to {computed}"
    )]
    FileChecksum {
        path: String,
        recorded: String,
        computed: String,
    },
}

/// One run of mapped blocks, `first..=last`, as in a bmap `<Range>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRange {
    pub first: u64,
    pub last: u64,
    pub sha256: Option<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMap {
    pub image_size: u64,
    pub block_size: u64,
    pub ranges: Vec<MappedRange>,
}

impl BlockMap {
    /// Maps the data (non-hole) regions of `image` with SEEK_DATA/SEEK_HOLE, block-aligned
    /// outwards, and hashes each range.
    pub fn from_image(path: &Path) -> Result<Self, BmapError> {
        let io_err = |source| BmapError::Io {
            path: path.display().to_string(),
            cause: source,
        };
        let file = File::open(path).map_err(io_err)?;
        let mut map = Self::from_data_ranges(&file, DEFAULT_BLOCK_SIZE).map_err(io_err)?;
        map.compute_checksums(&file).map_err(io_err)?;
        Ok(map)
    }

    /// The map of `file`'s data regions, without checksums.
    pub fn from_data_ranges(file: &File, block_size: u64) -> std::io::Result<Self> {
        let image_size = file.metadata()?.len();
        let mut ranges: Vec<MappedRange> = Vec::new();
        for data in sparse::data_ranges(file)? {
            let first = data.start / block_size;
            let last = (data.end - 1) / block_size;
            match ranges.last_mut() {
                Some(previous) if previous.last + 1 >= first => {
                    previous.last = previous.last.max(last)
                }
                _ => ranges.push(MappedRange {
                    first,
                    last,
                    sha256: None,
                }),
            }
        }
        Ok(Self {
            image_size,
            block_size,
            ranges,
        })
    }

    /// Fills in the sha256 of every range from `file`'s contents.
    pub fn compute_checksums(&mut self, file: &File) -> std::io::Result<()> {
        let mut buffer = vec![0u8; HASH_BUFFER];
        for index in 0..self.ranges.len() {
            let bytes = self.byte_range(&self.ranges[index]);
            let mut hasher = Sha256::new();
            let mut offset = bytes.start;
            while offset < bytes.end {
                let length = (bytes.end - offset).min(buffer.len() as u64) as usize;
                file.read_exact_at(&mut buffer[..length], offset)?;
                hasher.update(&buffer[..length]);
                offset += length as u64;
            }
            self.ranges[index].sha256 = Some(hasher.finalize().into());
        }
        Ok(())
    }

    pub fn blocks_count(&self) -> u64 {
        self.image_size.div_ceil(self.block_size)
    }

    pub fn mapped_blocks(&self) -> u64 {
        self.ranges
            .iter()
            .map(|range| range.last - range.first + 1)
            .sum()
    }

    /// Bytes that flashing writes: mapped blocks, the last one cut at the image's end.
    pub fn mapped_bytes(&self) -> u64 {
        self.ranges
            .iter()
            .map(|range| {
                let bytes = self.byte_range(range);
                bytes.end - bytes.start
            })
            .sum()
    }

    /// The bytes of the image a range covers (the image's last block may be partial).
    pub fn byte_range(&self, range: &MappedRange) -> Range<u64> {
        let start = range.first * self.block_size;
        let end = ((range.last + 1) * self.block_size).min(self.image_size);
        start..end
    }

    pub fn has_checksums(&self) -> bool {
        self.ranges.iter().all(|range| range.sha256.is_some())
    }

    /// bmaptool's layout, comments included, with `BmapFileChecksum` the sha256 of the file
    /// as written with that field all zeroes.
    pub fn to_xml(&self) -> String {
        let blocks = self.blocks_count();
        let mapped = self.mapped_blocks();
        let percent = if blocks == 0 {
            0.0
        } else {
            mapped as f64 * 100.0 / blocks as f64
        };
        let mut xml = String::new();
        xml.push_str("<?xml version=\"1.0\" ?>\n");
        xml.push_str(
            "<!-- Block map of an image: the blocks that hold data and have to be copied\n",
        );
        xml.push_str(
            "     to the target. Written by sweetlies-appliance in bmaptool's format. -->\n\n",
        );
        xml.push_str("<bmap version=\"2.0\">\n");
        xml.push_str(&format!(
            "    <!-- Image size in bytes: {} -->\n",
            human_size(self.image_size)
        ));
        xml.push_str(&format!(
            "    <ImageSize> {} </ImageSize>\n\n",
            self.image_size
        ));
        xml.push_str("    <!-- Size of a block in bytes -->\n");
        xml.push_str(&format!(
            "    <BlockSize> {} </BlockSize>\n\n",
            self.block_size
        ));
        xml.push_str("    <!-- Count of blocks in the image file -->\n");
        xml.push_str(&format!("    <BlocksCount> {blocks} </BlocksCount>\n\n"));
        xml.push_str(&format!(
            "    <!-- Count of mapped blocks: {} or {percent:.1}% -->\n",
            human_size(mapped * self.block_size)
        ));
        xml.push_str(&format!(
            "    <MappedBlocksCount> {mapped} </MappedBlocksCount>\n\n"
        ));
        xml.push_str("    <!-- Type of checksum used in this file -->\n");
        xml.push_str("    <ChecksumType> sha256 </ChecksumType>\n\n");
        xml.push_str(
            "    <!-- The checksum of this bmap file. When it is calculated, the value of\n",
        );
        xml.push_str("         the checksum has be zero (all ASCII \"0\" symbols).  -->\n");
        xml.push_str("    <BmapFileChecksum> ");
        let checksum_at = xml.len();
        xml.push_str(&"0".repeat(64));
        xml.push_str(" </BmapFileChecksum>\n\n");
        xml.push_str(
            "    <!-- The block map: ranges of blocks (first-last) or single blocks; 'chksum'\n",
        );
        xml.push_str("         is the sha256 of the range's bytes. -->\n");
        xml.push_str("    <BlockMap>\n");
        for range in &self.ranges {
            let checksum = range
                .sha256
                .map(|sum| format!(" chksum=\"{}\"", hex::encode(sum)))
                .unwrap_or_default();
            if range.first == range.last {
                xml.push_str(&format!(
                    "        <Range{checksum}> {} </Range>\n",
                    range.first
                ));
            } else {
                xml.push_str(&format!(
                    "        <Range{checksum}> {}-{} </Range>\n",
                    range.first, range.last
                ));
            }
        }
        xml.push_str("    </BlockMap>\n</bmap>\n");
        let file_checksum = hex::encode(Sha256::digest(xml.as_bytes()));
        xml.replace_range(checksum_at..checksum_at + 64, &file_checksum);
        xml
    }

    pub fn read(path: &Path) -> Result<Self, BmapError> {
        let text = std::fs::read_to_string(path).map_err(|source| BmapError::Io {
            path: path.display().to_string(),
            cause: source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a bmap (format 2.x, sha256), verifying its file checksum and consistency.
    pub fn parse(text: &str, path: &str) -> Result<Self, BmapError> {
        let invalid = |reason: String| BmapError::Invalid {
            path: path.to_string(),
            reason,
        };
        let document = roxmltree::Document::parse(text).map_err(|error| BmapError::Xml {
            path: path.to_string(),
            reason: error.to_string(),
        })?;
        let root = document.root_element();
        if root.tag_name().name() != "bmap" {
            return Err(invalid(format!(
                "root element is <{}>, not <bmap>",
                root.tag_name().name()
            )));
        }
        let version = root.attribute("version").unwrap_or("");
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .unwrap_or(0);
        if major != SUPPORTED_MAJOR_VERSION {
            return Err(invalid(format!(
                "format version {version:?} is not supported (only 2.x)"
            )));
        }
        let child_text = |name: &str| -> Result<String, BmapError> {
            root.children()
                .find(|node| node.has_tag_name(name))
                .map(|node| node.text().unwrap_or("").trim().to_string())
                .ok_or_else(|| invalid(format!("<{name}> is missing")))
        };
        let number = |name: &str| -> Result<u64, BmapError> {
            let value = child_text(name)?;
            value
                .parse()
                .map_err(|_| invalid(format!("<{name}> is {value:?}, not a number")))
        };
        let image_size = number("ImageSize")?;
        let block_size = number("BlockSize")?;
        if block_size == 0 || block_size % 512 != 0 {
            return Err(invalid(format!(
                "block size {block_size} is not a multiple of 512"
            )));
        }
        let checksum_type = child_text("ChecksumType")?;
        if checksum_type != "sha256" {
            return Err(invalid(format!(
                "checksum type {checksum_type:?} is not supported (only sha256)"
            )));
        }
        if let Ok(recorded) = child_text("BmapFileChecksum") {
            verify_file_checksum(text, &recorded, path)?;
        }
        let block_map = root
            .children()
            .find(|node| node.has_tag_name("BlockMap"))
            .ok_or_else(|| invalid("<BlockMap> is missing".into()))?;
        let mut ranges = Vec::new();
        for node in block_map
            .children()
            .filter(|node| node.has_tag_name("Range"))
        {
            let body = node.text().unwrap_or("").trim();
            let parse_block = |value: &str| {
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| invalid(format!("range {body:?} is not `first-last` or `block`")))
            };
            let (first, last) = match body.split_once('-') {
                Some((first, last)) => (parse_block(first)?, parse_block(last)?),
                None => {
                    let block = parse_block(body)?;
                    (block, block)
                }
            };
            let sha256 = node
                .attribute("chksum")
                .map(|value| {
                    parse_sha256(value).ok_or_else(|| {
                        invalid(format!(
                            "range {body}: chksum {value:?} is not a sha256 in hex"
                        ))
                    })
                })
                .transpose()?;
            ranges.push(MappedRange {
                first,
                last,
                sha256,
            });
        }
        let map = Self {
            image_size,
            block_size,
            ranges,
        };
        map.check_consistency(number("BlocksCount")?, number("MappedBlocksCount")?)
            .map_err(invalid)?;
        Ok(map)
    }

    fn check_consistency(&self, blocks_count: u64, mapped_count: u64) -> Result<(), String> {
        if blocks_count != self.blocks_count() {
            return Err(format!(
                "BlocksCount {blocks_count} does not match ImageSize {} / BlockSize {}",
                self.image_size, self.block_size
            ));
        }
        let mut next_free = 0;
        for range in &self.ranges {
            if range.first > range.last || range.first < next_free || range.last >= blocks_count {
                return Err(format!(
                    "range {}-{} is reversed, overlaps its predecessor or lies past the image's end",
                    range.first, range.last
                ));
            }
            next_free = range.last + 1;
        }
        if mapped_count != self.mapped_blocks() {
            return Err(format!(
                "MappedBlocksCount {mapped_count} but the ranges cover {} blocks",
                self.mapped_blocks()
            ));
        }
        Ok(())
    }
}

fn verify_file_checksum(text: &str, recorded: &str, path: &str) -> Result<(), BmapError> {
    let Some(position) = text.find(recorded) else {
        return Err(BmapError::Invalid {
            path: path.to_string(),
            reason: "BmapFileChecksum not found".into(),
        });
    };
    let mut zeroed = text.as_bytes().to_vec();
    zeroed[position..position + recorded.len()].fill(b'0');
    let computed = hex::encode(Sha256::digest(&zeroed));
    if computed != recorded {
        return Err(BmapError::FileChecksum {
            path: path.to_string(),
            recorded: recorded.to_string(),
            computed,
        });
    }
    Ok(())
}

fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let mut sum = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut sum).ok()?;
    Some(sum)
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BlockMap {
        BlockMap {
            image_size: 10 * 4096 + 512,
            block_size: 4096,
            ranges: vec![
                MappedRange {
                    first: 0,
                    last: 2,
                    sha256: Some([1; 32]),
                },
                MappedRange {
                    first: 5,
                    last: 5,
                    sha256: Some([2; 32]),
                },
                MappedRange {
                    first: 9,
                    last: 10,
                    sha256: Some([3; 32]),
                },
            ],
        }
    }

    #[test]
    fn xml_round_trips_and_last_block_is_partial() {
        let map = sample();
        let parsed = BlockMap::parse(&map.to_xml(), "sample.bmap").unwrap();
        assert_eq!(parsed, map);
        assert_eq!(map.blocks_count(), 11);
        assert_eq!(map.mapped_blocks(), 6);
        assert_eq!(map.mapped_bytes(), 5 * 4096 + 512);
    }

    #[test]
    fn edited_bmap_fails_its_file_checksum() {
        let xml = sample().to_xml().replace("> 5 </Range>", "> 6 </Range>");
        let error = BlockMap::parse(&xml, "edited.bmap").unwrap_err();
        assert!(matches!(error, BmapError::FileChecksum { .. }), "{error}");
    }

    #[test]
    fn overlapping_ranges_are_rejected() {
        let mut map = sample();
        map.ranges[1].first = 2;
        let error = BlockMap::parse(&map.to_xml(), "overlap.bmap").unwrap_err();
        assert!(error.to_string().contains("overlaps"), "{error}");
    }
}
