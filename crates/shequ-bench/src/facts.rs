//! `facts`: StreamLeafUnitFacts for the whole country (an empty parent), in one call.

use std::time::{Duration, Instant};

use crate::common::{
    BackendArgs, CreateArgs, DataArgs, DivisionData, channels, create_facilities, drain_facts,
    facility_client, import, leaf_units, print_created, rate, secs, thousands, verdict,
};

const TARGET: Duration = Duration::from_secs(3);

pub async fn run(
    data: &DataArgs,
    backends: &BackendArgs,
    facilities: u64,
    create: &CreateArgs,
    connections: usize,
) -> anyhow::Result<()> {
    let data = DivisionData::load(data)?;
    println!("data: {}", data.label);
    for backend in backends.backends() {
        let name = backend.name();
        let registry = backends.start(backend).await?;
        let setup = channels(&registry, connections).await?;
        let imported = import(setup[0].clone(), &data).await?;
        let expected = imported.leaf_units() as u64;
        println!(
            "{:<18} {name:<8}  {} rows in {} s, {} leaf units",
            "import",
            thousands(imported.rows() as u64),
            secs(imported.elapsed),
            thousands(expected)
        );
        let mut created_n = 0;
        if facilities > 0 {
            let leaves = leaf_units(setup[0].clone()).await?;
            let created = create_facilities(&setup, &leaves, facilities, create).await?;
            print_created(backend, facilities, &created, create);
            created_n = created.names.len() as u64;
        }
        drop(setup);

        let load = channels(&registry, connections).await?;
        // The whole country in one call and one snapshot: an empty parent.
        let started = Instant::now();
        let (units, in_service) =
            drain_facts(facility_client(load[0].clone()), String::new()).await?;
        report(
            "facts country",
            name,
            units,
            in_service,
            started.elapsed(),
            expected,
            created_n,
        );
        drop(load);
        registry.stop().await?;
    }
    Ok(())
}

fn report(
    label: &str,
    backend: &str,
    units: u64,
    in_service: u64,
    elapsed: Duration,
    expected: u64,
    facilities: u64,
) {
    println!(
        "{label:<18} {backend:<8}  {} leaf units in {} s ({} units/s); expected {} ({}); in-service facilities {} of {} created; target <= {} s: {}",
        thousands(units),
        secs(elapsed),
        rate(units, elapsed),
        thousands(expected),
        if units == expected {
            "equal"
        } else {
            "DIFFERENT"
        },
        thousands(in_service),
        thousands(facilities),
        TARGET.as_secs(),
        verdict(elapsed <= TARGET)
    );
}
