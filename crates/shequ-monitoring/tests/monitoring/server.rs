//! The platform seen through the monitoring service: readiness of each of its services.

use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::env;

#[tokio::test]
async fn every_monitoring_service_reports_ready() {
    let env = env().await;
    let mut health = HealthClient::new(env.monitor.channel().await.unwrap());
    for service in [
        "readiness",
        "shequ.monitoring.v1.IndicatorService",
        "shequ.monitoring.v1.PlanService",
        "shequ.monitoring.v1.EvaluationService",
    ] {
        let mut stream = health
            .watch(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut ready = false;
        while let Some(r) = stream.next().await {
            if r.unwrap().status == ServingStatus::Serving as i32 {
                ready = true;
                break;
            }
        }
        assert!(ready, "`{service}` never became ready");
    }
}
