//! Logs (text or JSON, with the trace id on every line of a call), OpenTelemetry traces and RPC
//! metrics over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace-context propagation.

use std::sync::OnceLock;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{KeyValue, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::metadata::{KeyAndValueRef, MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

/// Flushes and shuts the exporters down when dropped.
#[derive(Debug)]
pub struct TelemetryGuard {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(t) = self.tracer.take() {
            let _ = t.shutdown();
        }
        if let Some(m) = self.meter.take() {
            let _ = m.shutdown();
        }
    }
}

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the process-wide subscriber, propagator and providers. Only the first call in a process
/// installs anything (several services may share a process); later calls return an empty guard.
pub fn init(service_name: &str, cfg: &TelemetryConfig) -> TelemetryGuard {
    let mut guard = TelemetryGuard {
        tracer: None,
        meter: None,
    };
    if INSTALLED.set(()).is_err() {
        return guard;
    }
    global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some_and(|v| !v.is_empty());

    let mut tracer_builder = SdkTracerProvider::builder().with_resource(resource.clone());
    if exporting {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => tracer_builder = tracer_builder.with_batch_exporter(exporter),
            Err(e) => eprintln!("telemetry: span exporter not started: {e}"),
        }
        match opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => {
                let meter = SdkMeterProvider::builder()
                    .with_resource(resource)
                    .with_periodic_exporter(exporter)
                    .build();
                global::set_meter_provider(meter.clone());
                guard.meter = Some(meter);
            }
            Err(e) => eprintln!("telemetry: metric exporter not started: {e}"),
        }
    }
    // Without an exporter the provider still makes real trace ids, so logs and propagation work.
    let provider = tracer_builder.build();
    let tracer = provider.tracer("shequ");
    global::set_tracer_provider(provider.clone());
    guard.tracer = Some(provider);

    let filter = EnvFilter::try_new(&cfg.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt_layer = match cfg.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init();
    guard
}

/// Reads W3C `traceparent`/`tracestate` from request headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The server span of one call: parented on the caller's trace context when it sent one, with the
/// trace id recorded as a field so every log line of the call carries it.
pub fn server_span(request: &http::Request<()>) -> tracing::Span {
    let parent =
        global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
    let path = request.uri().path();
    let span = tracing::info_span!("rpc", otel.name = %path, otel.kind = "server", rpc = %path, trace_id = tracing::field::Empty);
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    span.record("trace_id", tracing::field::display(trace_id));
    span
}

/// The trace id of the current span, as 32 hex digits (all zeros outside a trace).
pub fn current_trace_id() -> String {
    tracing::Span::current()
        .context()
        .span()
        .span_context()
        .trace_id()
        .to_string()
}

/// Writes the current trace context into outgoing gRPC metadata.
struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Client interceptor that carries the current trace context to the called service, so one trace
/// spans a call and the calls it makes.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextInterceptor;

impl tonic::service::Interceptor for TraceContextInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let cx = tracing::Span::current().context();
        global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut MetadataInjector(request.metadata_mut()))
        });
        Ok(request)
    }
}

/// Reads the trace id a request's metadata carries, for tests and audit records.
pub fn trace_id_of(metadata: &MetadataMap) -> Option<String> {
    metadata.iter().find_map(|kv| match kv {
        KeyAndValueRef::Ascii(k, v) if k.as_str() == "traceparent" => v
            .to_str()
            .ok()
            .and_then(|s| s.split('-').nth(1))
            .map(str::to_owned),
        _ => None,
    })
}

/// RPC metrics, recorded through the global meter (a no-op unless an exporter is configured).
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    duration: opentelemetry::metrics::Histogram<f64>,
}

impl RpcMetrics {
    pub fn new() -> Self {
        let meter = global::meter("shequ");
        Self {
            duration: meter
                .f64_histogram("rpc.server.duration")
                .with_unit("ms")
                .with_description("time to the response headers of each call")
                .build(),
        }
    }

    pub fn record(&self, path: &str, code: &str, millis: f64) {
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path, ""));
        self.duration.record(
            millis,
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", service.to_owned()),
                KeyValue::new("rpc.method", method.to_owned()),
                KeyValue::new("rpc.grpc.status_code", code.to_owned()),
            ],
        );
    }
}

impl Default for RpcMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tonic::service::Interceptor;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_call_continues_the_callers_trace_logs_it_and_passes_it_on() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(move || writer.clone()),
            )
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let request = http::Request::builder()
                .uri("/shequ.registry.v1.FacilityService/GetFacility")
                .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
                .body(())
                .unwrap();
            let span = server_span(&request);
            let _entered = span.enter();
            assert_eq!(current_trace_id(), TRACE);
            tracing::info!("facility read");

            let outgoing = TraceContextInterceptor
                .call(tonic::Request::new(()))
                .unwrap();
            assert_eq!(trace_id_of(outgoing.metadata()).as_deref(), Some(TRACE));
        });
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["span"]["trace_id"], TRACE, "{text}");
        assert_eq!(line["fields"]["message"], "facility read");
    }

    #[test]
    fn a_call_without_context_starts_a_new_trace() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let request = http::Request::builder().uri("/x/Y").body(()).unwrap();
            let span = server_span(&request);
            let _entered = span.enter();
            let id = current_trace_id();
            assert_eq!(id.len(), 32);
            assert_ne!(id, "0".repeat(32));
        });
    }
}
