//! A fake OpenTelemetry collector on loopback: it accepts OTLP/gRPC trace and metric exports and
//! hands them to the test, for checking what a service process exports.

use std::net::SocketAddr;
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
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

/// One exported span, flattened: the exporting service and the ids as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedSpan {
    /// The resource's `service.name` (`shequ-registry`, ...).
    pub service: String,
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, empty for a root span.
    pub parent_span_id: String,
}

#[derive(Clone)]
struct Sink {
    spans: mpsc::UnboundedSender<ExportTraceServiceRequest>,
    metrics: mpsc::UnboundedSender<ExportMetricsServiceRequest>,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        r: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let _ = self.spans.send(r.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        r: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let _ = self.metrics.send(r.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// The collector, serving until dropped. Point a process at it with
/// `OTEL_EXPORTER_OTLP_ENDPOINT=`[`Collector::endpoint`].
pub struct Collector {
    pub addr: SocketAddr,
    spans: mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
    metrics: mpsc::UnboundedReceiver<ExportMetricsServiceRequest>,
    server: tokio::task::JoinHandle<()>,
}

impl Collector {
    /// Serves on `127.0.0.1:0`.
    pub async fn start() -> anyhow::Result<Self> {
        let (spans_tx, spans) = mpsc::unbounded_channel();
        let (metrics_tx, metrics) = mpsc::unbounded_channel();
        let sink = Sink {
            spans: spans_tx,
            metrics: metrics_tx,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(sink.clone()))
                .add_service(MetricsServiceServer::new(sink))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await;
        });
        Ok(Self {
            addr,
            spans,
            metrics,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The spans of the next trace export, waiting up to `timeout`; `None` when nothing arrived.
    pub async fn next_spans(&mut self, timeout: Duration) -> Option<Vec<ExportedSpan>> {
        let export = tokio::time::timeout(timeout, self.spans.recv())
            .await
            .ok()??;
        Some(flatten(&export))
    }

    /// The spans of every trace export received so far, without waiting.
    pub fn received_spans(&mut self) -> Vec<ExportedSpan> {
        let mut out = Vec::new();
        while let Ok(export) = self.spans.try_recv() {
            out.extend(flatten(&export));
        }
        out
    }

    /// The metric names of the next metric export that names any, waiting up to `timeout`.
    pub async fn next_metric_names(&mut self, timeout: Duration) -> Option<Vec<String>> {
        tokio::time::timeout(timeout, async {
            loop {
                let export = self.metrics.recv().await?;
                let names: Vec<String> = export
                    .resource_metrics
                    .iter()
                    .flat_map(|r| &r.scope_metrics)
                    .flat_map(|s| &s.metrics)
                    .map(|m| m.name.clone())
                    .collect();
                if !names.is_empty() {
                    return Some(names);
                }
            }
        })
        .await
        .ok()?
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn flatten(export: &ExportTraceServiceRequest) -> Vec<ExportedSpan> {
    let mut out = Vec::new();
    for resource in &export.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| match &v.value {
                Some(Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
            out.push(ExportedSpan {
                service: service.clone(),
                name: span.name.clone(),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
            });
        }
    }
    out
}
