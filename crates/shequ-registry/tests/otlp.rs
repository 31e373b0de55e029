//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the registry binary exports its traces (continuing the
//! caller's W3C trace) and RPC metrics over OTLP/gRPC to a collector, here a fake one on loopback.

use std::process::Stdio;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use shequ_proto::registry::v1 as pb;
use shequ_proto::registry::v1::division_service_client::DivisionServiceClient;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

#[derive(Clone)]
struct Collector {
    spans: mpsc::UnboundedSender<ExportTraceServiceRequest>,
    metrics: mpsc::UnboundedSender<ExportMetricsServiceRequest>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        r: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let _ = self.spans.send(r.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        r: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let _ = self.metrics.send(r.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tokio::test]
async fn traces_and_metrics_reach_the_collector() {
    let (spans_tx, mut spans) = mpsc::unbounded_channel();
    let (metrics_tx, mut metrics) = mpsc::unbounded_channel();
    let collector = Collector {
        spans: spans_tx,
        metrics: metrics_tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .add_service(MetricsServiceServer::new(collector))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

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
    let metric_names = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let export = metrics.recv().await.unwrap();
            let names: Vec<String> = export
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(|m| m.name.clone())
                .collect();
            if !names.is_empty() {
                return names;
            }
        }
    })
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
    let mut trace_ids = Vec::new();
    while let Ok(export) = spans.try_recv() {
        for span in export
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            trace_ids.push(
                span.trace_id
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
            );
        }
    }
    assert!(
        trace_ids.iter().any(|t| t == TRACE_ID),
        "spans exported: {trace_ids:?}"
    );
}
