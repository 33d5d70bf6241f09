//! The API's validation of a scan report, on any bytes decoded as one:
//! it never panics, and what it accepts stays inside the API's bounds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use zerotrace_proto::api::v1 as pb;

fuzz_target!(|data: &[u8]| {
    let Ok(report) = pb::ScanReport::decode(data) else {
        return;
    };
    let _ = zerotrace_api::prepare_report("fuzz-agent", report, 50_000, 1_700_000_000_000_000);
});
