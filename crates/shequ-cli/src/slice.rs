//! The Hebei division slice compiled into the binary, so the demo needs no files on disk.

use std::collections::HashMap;
use std::io::Read;

use flate2::read::GzDecoder;
use shequ_proto::registry::v1 as pb;

/// Data vintage the slice is imported as: the source package and its version.
pub const VINTAGE: &str = "china-division-2.7.0";
/// Resource name of Hebei, the demo's province.
pub const PROVINCE: &str = "divisions/130000000000";
/// Bytes per import message.
const CHUNK_BYTES: usize = 64 * 1024;

macro_rules! hebei_file {
    ($file:literal) => {
        include_bytes!(concat!("../../../data/divisions/hebei/", $file)).as_slice()
    };
}

/// The five gzipped CSV files of `data/divisions/hebei/`, in import order.
pub const HEBEI: [(pb::DivisionFile, &[u8]); 5] = [
    (pb::DivisionFile::Provinces, hebei_file!("provinces.csv.gz")),
    (pb::DivisionFile::Cities, hebei_file!("cities.csv.gz")),
    (pb::DivisionFile::Areas, hebei_file!("areas.csv.gz")),
    (pb::DivisionFile::Streets, hebei_file!("streets.csv.gz")),
    (pb::DivisionFile::Villages, hebei_file!("villages.csv.gz")),
];

/// Compressed size of the slice, for the progress line.
pub fn compressed_bytes() -> usize {
    HEBEI.iter().map(|(_, bytes)| bytes.len()).sum()
}

/// The slice as ImportDivisions messages of at most 64 KiB; the vintage rides on the first.
pub fn import_requests() -> Vec<pb::ImportDivisionsRequest> {
    let mut out = Vec::new();
    for (file, bytes) in HEBEI {
        for part in bytes.chunks(CHUNK_BYTES) {
            out.push(pb::ImportDivisionsRequest {
                vintage: if out.is_empty() {
                    VINTAGE.to_owned()
                } else {
                    String::new()
                },
                file: file as i32,
                data: part.to_vec(),
                ..Default::default()
            });
        }
    }
    out
}

/// Official names of the leaf units (村委会, 居委会) by 12-digit code, read from the embedded
/// `villages.csv.gz`; the facts stream carries codes only.
pub fn leaf_unit_names() -> anyhow::Result<HashMap<u64, String>> {
    let (_, gz) = HEBEI[4];
    let mut text = Vec::new();
    GzDecoder::new(gz).read_to_end(&mut text)?;
    let mut reader = csv::Reader::from_reader(text.as_slice());
    let mut names = HashMap::new();
    for record in reader.records() {
        let record = record?;
        if let (Some(code), Some(name)) = (record.get(0), record.get(1)) {
            names.insert(code.parse()?, name.to_owned());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_unit_has_a_name() {
        let names = leaf_unit_names().unwrap();
        assert_eq!(names.len(), 54_145);
        assert_eq!(
            names.get(&130_102_001_001).map(String::as_str),
            Some("棉一东社区居民委员会")
        );
    }

    #[test]
    fn import_starts_with_the_vintage() {
        let requests = import_requests();
        assert_eq!(requests[0].vintage, VINTAGE);
        assert!(requests[1..].iter().all(|r| r.vintage.is_empty()));
        let sent: usize = requests.iter().map(|r| r.data.len()).sum();
        assert_eq!(sent, compressed_bytes());
    }
}
