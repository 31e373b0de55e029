//! `import`: the national division files through ImportDivisions, then the same again.

use std::path::Path;
use std::time::Duration;

use crate::common::{
    BackendArgs, DivisionData, ImportRun, channels, import, rate, secs, thousands, verdict,
};

/// Target of the spec for one import of the national data.
const TARGET: Duration = Duration::from_secs(20);

pub async fn run(dir: &Path, backends: &BackendArgs) -> anyhow::Result<()> {
    let data = DivisionData::from_dir(dir)?;
    println!(
        "data: {} ({} bytes in {} messages of at most 64 KiB)",
        data.label,
        thousands(data.bytes() as u64),
        data.requests().len()
    );
    for backend in backends.backends() {
        let name = backend.name();
        let registry = backends.start(backend).await?;
        let channel = channels(&registry, 1).await?.remove(0);
        let first = import(channel.clone(), &data).await?;
        line("import", name, &first);
        let again = import(channel, &data).await?;
        line("re-import", name, &again);
        let r = &again.response;
        let all_unchanged =
            r.inserted == 0 && r.updated == 0 && r.unchanged == first.response.inserted;
        println!(
            "{:<10} {name:<8}  re-import all unchanged: {}; target <= {} s: import {}, re-import {}",
            "check",
            if all_unchanged { "yes" } else { "NO" },
            TARGET.as_secs(),
            verdict(first.elapsed <= TARGET),
            verdict(again.elapsed <= TARGET)
        );
        registry.stop().await?;
    }
    Ok(())
}

fn line(what: &str, backend: &str, run: &ImportRun) {
    let r = &run.response;
    println!(
        "{what:<10} {backend:<8}  {} rows in {} s ({} rows/s); inserted {}, updated {}, unchanged {}, merged {}",
        thousands(run.rows() as u64),
        secs(run.elapsed),
        rate(run.rows() as u64, run.elapsed),
        thousands(r.inserted as u64),
        thousands(r.updated as u64),
        thousands(r.unchanged as u64),
        thousands(r.merged as u64),
    );
}
