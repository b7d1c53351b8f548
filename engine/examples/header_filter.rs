//! A custom reader: every record of a log dir that carries a given header
//! (optionally with a given value), printed as `topic-partition@offset`
//! and its value.
//!
//! ```text
//! cargo run -p kreplay --example header_filter -- fixtures/conformance/corpus/v2-headers trace-id
//! ```
//!
//! It reads through the engine's entry point, [`LogDir`]: each partition's
//! reader passes on its records in offset order, as borrowed views, and
//! every error already names the file, the byte position and the offset.

use std::io::Write;

use kreplay::{LogDir, StartAt};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(log_dir), Some(name)) = (args.next(), args.next()) else {
        return Err("usage: header_filter LOG_DIR HEADER_KEY [HEADER_VALUE]".into());
    };
    let wanted_value = args.next();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut matched = 0u64;
    let mut read = 0u64;
    for partition in LogDir::open([log_dir])?.partitions() {
        partition.reader(StartAt::Beginning)?.try_for_each(
            |record| -> Result<(), Box<dyn std::error::Error>> {
                read += 1;
                let hit = record.headers().iter().any(|h| {
                    h.key == name.as_bytes()
                        && wanted_value
                            .as_deref()
                            .is_none_or(|v| h.value == Some(v.as_bytes()))
                });
                if hit {
                    matched += 1;
                    let value = record.value().map(String::from_utf8_lossy);
                    writeln!(
                        out,
                        "{}@{}\t{}",
                        partition.topic_partition(),
                        record.offset(),
                        value.as_deref().unwrap_or("(null)")
                    )?;
                }
                Ok(())
            },
        )?;
    }
    eprintln!("{matched} of {read} records carry header {name:?}");
    Ok(())
}
