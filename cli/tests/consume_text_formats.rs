//! `--format text` (the value per line, null as an empty line, bytes as they
//! are) and kcat-style `-f` format strings, built independently from
//! expected.jsonl.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::Value;

fn bytes(value: &Value) -> Option<Vec<u8>> {
    value
        .as_str()
        .map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap())
}

fn stdout_bytes(case: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kreplay"));
    command.arg("consume").arg("--log-dir").arg(case);
    for topic in topics_of(case) {
        command.arg("-t").arg(topic);
    }
    let output = output_within(command.args(args), RUN_TIMEOUT).expect("kreplay hung");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn text_is_the_value_per_line() {
    // Partition by partition: partitions interleave in no fixed order.
    for name in ["v2-nulls", "v2-headers", "v2-empty-bytes", "legacy-v0-none"] {
        let case = corpus_case(name);
        for ((_, partition), records) in by_partition(&expected_consumed(&case)) {
            let p = partition.to_string();
            let mut want = Vec::new();
            for r in &records {
                want.extend(bytes(&r["value"]).unwrap_or_default());
                want.push(b'\n');
            }
            assert_eq!(stdout_bytes(&case, &["-e", "-p", &p]), want, "{name}");
            assert_eq!(
                stdout_bytes(&case, &["-e", "-p", &p, "--format", "text"]),
                want,
                "{name}"
            );
            // Encoded.
            let mut want = Vec::new();
            for r in &records {
                if let Some(v) = r["value"].as_str() {
                    want.extend_from_slice(v.as_bytes());
                }
                want.push(b'\n');
            }
            assert_eq!(
                stdout_bytes(&case, &["-e", "-p", &p, "--bytes", "base64"]),
                want,
                "{name} base64"
            );
        }
    }
}

#[test]
fn format_strings() {
    for name in ["v2-nulls", "v2-headers", "legacy-v0-none"] {
        let case = corpus_case(name);
        let mut want = Vec::new();
        for r in expected_consumed(&case) {
            let key = bytes(&r["key"]);
            let value = bytes(&r["value"]);
            let len = |b: &Option<Vec<u8>>| b.as_ref().map_or(-1, |b| b.len() as i64);
            want.extend(
                format!(
                    "{}\t[{}] @{} ts {} ",
                    r["topic"].as_str().unwrap(),
                    r["partition"],
                    r["offset"],
                    r["timestamp"].as_i64().unwrap_or(-1)
                )
                .as_bytes(),
            );
            want.extend(key.clone().unwrap_or_default());
            want.extend(format!(" ({}) = ", len(&key)).as_bytes());
            want.extend(value.clone().unwrap_or_default());
            want.extend(format!(" ({}) h:", len(&value)).as_bytes());
            for (i, h) in r["headers"].as_array().unwrap().iter().enumerate() {
                if i > 0 {
                    want.push(b',');
                }
                want.extend(h[0].as_str().unwrap().as_bytes());
                want.push(b'=');
                match bytes(&h[1]) {
                    Some(v) => want.extend(v),
                    None => want.extend(b"NULL"),
                }
            }
            want.extend(b" 100%\n");
        }
        let got = stdout_bytes(
            &case,
            &[
                "-e",
                "-f",
                "%t\\t[%p] @%o ts %T %k (%K) = %s (%S) h:%h 100%%\\n",
            ],
        );
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{name}"
        );
    }
}

#[test]
fn binary_value_length() {
    let case = corpus_case("v2-nulls");
    let got = stdout_bytes(&case, &["-e", "-c", "3", "-f", "%R"]);
    let mut want = Vec::new();
    for r in &expected_consumed(&case)[..3] {
        let len = bytes(&r["value"]).map_or(-1, |v| v.len() as i32);
        want.extend(len.to_be_bytes());
    }
    assert_eq!(got, want);
}
