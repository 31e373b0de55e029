"""Peak memory of each service process under the heaviest loads the sizing relies on.

Starts shequ-registry and shequ-monitoring as separate processes on SQLite (configured through
SHEQU__* variables, like the manifests), imports the divisions of DIVISIONS_DIR into the registry
over gRPC (the national files, for sizing), streams all their facts, creates FACILITIES
facilities, then has the monitor load the national plan and evaluate it over everything imported.
Prints each process's VmRSS and VmHWM (peak resident set, /proc/PID/status) after every step.

Usage (run.sh generates the Python code from proto/ first):
  peak_memory.py BIN_DIR DIVISIONS_DIR FACILITIES
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

import grpc

from shequ.registry.v1 import division_pb2, division_pb2_grpc, facility_pb2, facility_pb2_grpc
from shequ.monitoring.v1 import evaluation_pb2, evaluation_pb2_grpc, plan_pb2, plan_pb2_grpc
from shequ.common.v1 import common_pb2

FILES = [
    ("provinces.csv.gz", division_pb2.DIVISION_FILE_PROVINCES),
    ("cities.csv.gz", division_pb2.DIVISION_FILE_CITIES),
    ("areas.csv.gz", division_pb2.DIVISION_FILE_AREAS),
    ("streets.csv.gz", division_pb2.DIVISION_FILE_STREETS),
    ("villages.csv.gz", division_pb2.DIVISION_FILE_VILLAGES),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) // 1024
    return fields


def report(step, procs):
    parts = [f"{name} RSS {memory(p.pid)['VmRSS']} MiB, peak {memory(p.pid)['VmHWM']} MiB" for name, p in procs.items()]
    print(f"{step:<48} " + "; ".join(parts), flush=True)


def start(binary, port, work, extra):
    env = {
        "SHEQU__SERVER__LISTEN": f"127.0.0.1:{port}",
        "SHEQU__DATABASE__URL": f"sqlite://{work}/{os.path.basename(binary)}.sqlite",
        "SHEQU__TELEMETRY__LOG_FORMAT": "json",
        "SHEQU__TELEMETRY__LOG_LEVEL": "warn",
        **extra,
    }
    log = open(f"{work}/{os.path.basename(binary)}.log", "w")
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)])
    grpc.channel_ready_future(channel).result(timeout=120)
    return proc, channel


def chunks(directory):
    first = True
    for name, kind in FILES:
        with open(os.path.join(directory, name), "rb") as f:
            while data := f.read(64 * 1024):
                yield division_pb2.ImportDivisionsRequest(vintage="2023" if first else "", file=kind, data=data)
                first = False


def facility(unit, i):
    """An in-service facility like the test kit's template."""
    return facility_pb2.Facility(
        display_name="社区党群服务中心",
        leaf_unit=unit,
        address=f"示范路 {i} 号",
        location=common_pb2.LatLng(latitude=39.93, longitude=116.41),
        status=facility_pb2.FACILITY_STATUS_IN_SERVICE,
        total_floor_area_m2=500.0,
        activity_area_m2=300.0,
        opening_hours=[facility_pb2.OpeningInterval(day=d, open_minute=480, close_minute=1020) for d in range(1, 8)],
        services=[common_pb2.SERVICE_KIND_ELDERLY_CARE, common_pb2.SERVICE_KIND_HEALTH],
        online_24h_services=[common_pb2.SERVICE_KIND_GOVERNMENT_SERVICES],
        self_service_terminals=2,
        staff=facility_pb2.Staff(community_workers=9, social_workers=2),
        operator=facility_pb2.Operator(display_name="示范社会工作服务中心", uscc="91350100M000100Y43"),
    )


def main():
    bin_dir, divisions, facilities = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with tempfile.TemporaryDirectory() as work:
        procs = {}
        try:
            registry_port = free_port()
            procs["registry"], registry = start(f"{bin_dir}/shequ-registry", registry_port, work, {})
            report("registry started", procs)

            started = time.monotonic()
            reply = division_pb2_grpc.DivisionServiceStub(registry).ImportDivisions(chunks(divisions), timeout=600)
            report(f"import ({reply.inserted} divisions, {time.monotonic() - started:.1f} s)", procs)

            facts = facility_pb2_grpc.FacilityServiceStub(registry)
            units = [
                f"divisions/{f.code:012d}"
                for batch in facts.StreamLeafUnitFacts(facility_pb2.StreamLeafUnitFactsRequest(parent=""), timeout=600)
                for f in batch.facts
            ]
            report(f"facts stream, whole data set ({len(units)} leaf units)", procs)

            started = time.monotonic()
            for first in range(0, facilities, 32):
                calls = [
                    facts.CreateFacility.future(
                        facility_pb2.CreateFacilityRequest(
                            facility=facility(units[(i * 7919) % len(units)], i), request_id=f"size-{i}"
                        ),
                        timeout=120,
                    )
                    for i in range(first, min(first + 32, facilities))
                ]
                for call in calls:
                    call.result()
            report(f"{facilities} facilities created ({time.monotonic() - started:.1f} s)", procs)

            monitoring_port = free_port()
            procs["monitoring"], monitoring = start(
                f"{bin_dir}/shequ-monitoring",
                monitoring_port,
                work,
                {
                    "SHEQU__MONITORING__REGISTRY_ENDPOINT": f"http://127.0.0.1:{registry_port}",
                    "SHEQU__MONITORING__SURVEY_ENDPOINT": "http://127.0.0.1:1",
                },
            )
            plan = plan_pb2_grpc.PlanServiceStub(monitoring).LoadNationalPlan(plan_pb2.LoadNationalPlanRequest()).plan
            started = time.monotonic()
            evaluation = evaluation_pb2_grpc.EvaluationServiceStub(monitoring).EvaluatePlan(
                evaluation_pb2.EvaluatePlanRequest(plan=plan.name, evaluation_date="2024-06-30"), timeout=900
            )
            report(f"national plan evaluated over the whole data set ({time.monotonic() - started:.1f} s)", procs)
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait(timeout=60)


main()
