//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the registry binary exports its traces (continuing the
//! caller's W3C trace) and RPC metrics over OTLP/gRPC to a collector, here a fake one on loopback.

use std::process::Stdio;
use std::time::Duration;

use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use shequ_testkit::otlp::Collector;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::Request;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

#[tokio::test]
async fn traces_and_metrics_reach_the_collector() {
    let mut collector = Collector::start().await.unwrap();
    let collector_addr = collector.addr;

    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shequ-registry"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database-url")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("r.sqlite").display()
        ))
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{collector_addr}"),
        )
        .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
        .env("SHEQU__TELEMETRY__LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("serving gRPC") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(started, Ok(true), "the registry did not start");

    let mut client = DivisionServiceClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    let mut request = Request::new(pb::GetDivisionRequest {
        name: "divisions/11".into(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-b7ad6b7169203331-01")
            .parse()
            .unwrap(),
    );
    let err = client.get_division(request).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);

    // Metrics arrive on the periodic export; spans at the latest when shutdown flushes them.
    let metric_names = collector
        .next_metric_names(Duration::from_secs(30))
        .await
        .expect("metrics exported");
    assert!(
        metric_names.iter().any(|n| n == "rpc.server.duration"),
        "{metric_names:?}"
    );

    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    let trace_ids: Vec<String> = collector
        .received_spans()
        .into_iter()
        .map(|s| s.trace_id)
        .collect();
    assert!(
        trace_ids.iter().any(|t| t == TRACE_ID),
        "spans exported: {trace_ids:?}"
    );
}
