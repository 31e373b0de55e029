"""An outside client of the facility registry, generated from proto/ with grpcio-tools.

It does what an integrating government system would: import divisions, then create, update, list
and read facilities and their history, and check that bad input is refused with the right status.
Usage: registry_client.py HOST:PORT DIVISIONS_DIR (the directory of the five gzipped CSV files).
"""

import os
import sys

import grpc
from google.protobuf import field_mask_pb2

from shequ.common.v1 import common_pb2
from shequ.registry.v1 import division_pb2, division_pb2_grpc, facility_pb2, facility_pb2_grpc

FILES = [
    ("provinces.csv.gz", division_pb2.DIVISION_FILE_PROVINCES),
    ("cities.csv.gz", division_pb2.DIVISION_FILE_CITIES),
    ("areas.csv.gz", division_pb2.DIVISION_FILE_AREAS),
    ("streets.csv.gz", division_pb2.DIVISION_FILE_STREETS),
    ("villages.csv.gz", division_pb2.DIVISION_FILE_VILLAGES),
]


def chunks(directory, vintage):
    first = True
    for name, kind in FILES:
        with open(os.path.join(directory, name), "rb") as f:
            while True:
                data = f.read(64 * 1024)
                if not data:
                    break
                yield division_pb2.ImportDivisionsRequest(vintage=vintage if first else "", file=kind, data=data)
                first = False


def expect(condition, message):
    if not condition:
        raise SystemExit("FAILED: " + message)


def main():
    target, directory = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=60)
    divisions = division_pb2_grpc.DivisionServiceStub(channel)
    facilities = facility_pb2_grpc.FacilityServiceStub(channel)
    actor = (("x-shequ-actor", "python-client"),)

    report = divisions.ImportDivisions(chunks(directory, "2023"))
    expect(report.inserted > 0, "import inserted nothing")
    print(f"imported: {report.inserted} inserted, {report.unchanged} unchanged")

    county = divisions.GetDivision(division_pb2.GetDivisionRequest(name="divisions/429004")).division
    expect(county.display_name == "仙桃市", county.display_name)
    expect(county.parent == "divisions/429000000000", county.parent)
    township = divisions.ListDivisions(division_pb2.ListDivisionsRequest(parent=county.name, page_size=1)).divisions[0]
    unit = divisions.ListDivisions(division_pb2.ListDivisionsRequest(parent=township.name, page_size=1)).divisions[0]

    facility = facility_pb2.Facility(
        display_name="社区综合服务中心",
        leaf_unit=unit.name,
        status=facility_pb2.FACILITY_STATUS_IN_SERVICE,
        total_floor_area_m2=600,
        activity_area_m2=400,
        opening_hours=[facility_pb2.OpeningInterval(day=d, open_minute=480, close_minute=1020) for d in range(1, 8)],
        services=[common_pb2.SERVICE_KIND_ELDERLY_CARE],
        staff=facility_pb2.Staff(community_workers=6, social_workers=1),
    )
    created = facilities.CreateFacility(
        facility_pb2.CreateFacilityRequest(facility=facility, request_id="py-1", reason="opened"), metadata=actor
    ).facility
    again = facilities.CreateFacility(
        facility_pb2.CreateFacilityRequest(facility=facility, request_id="py-1", reason="opened"), metadata=actor
    ).facility
    expect(created.name == again.name, "a retried create made a second facility")

    patch = facility_pb2.Facility(name=created.name, etag=created.etag, status=facility_pb2.FACILITY_STATUS_SUSPENDED)
    updated = facilities.UpdateFacility(
        facility_pb2.UpdateFacilityRequest(
            facility=patch, update_mask=field_mask_pb2.FieldMask(paths=["status"]), reason="repairs"
        ),
        metadata=actor,
    ).facility
    expect(updated.revision == 2, f"revision {updated.revision}")

    try:
        facilities.UpdateFacility(
            facility_pb2.UpdateFacilityRequest(
                facility=patch, update_mask=field_mask_pb2.FieldMask(paths=["status"])
            )
        )
        expect(False, "a stale etag was accepted")
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.ABORTED, f"stale etag gave {e.code()}")

    bad = facility_pb2.Facility()
    bad.CopyFrom(facility)
    bad.activity_area_m2 = 900
    try:
        facilities.CreateFacility(facility_pb2.CreateFacilityRequest(facility=bad))
        expect(False, "activity area above total area was accepted")
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"bad area gave {e.code()}")
        expect("activity_area_m2" in e.details(), e.details())

    listed = facilities.ListFacilities(facility_pb2.ListFacilitiesRequest(parent="divisions/42")).facilities
    expect([f.name for f in listed] == [created.name], f"listed {[f.name for f in listed]}")
    got = facilities.GetFacility(facility_pb2.GetFacilityRequest(name=created.name)).facility
    expect(got.status == facility_pb2.FACILITY_STATUS_SUSPENDED, "status not stored")
    history = facilities.ListFacilityRevisions(facility_pb2.ListFacilityRevisionsRequest(name=created.name)).revisions
    expect([r.kind for r in history] == [facility_pb2.CHANGE_KIND_CREATED, facility_pb2.CHANGE_KIND_UPDATED], "history")
    expect(history[1].actor == "python-client" and history[1].reason == "repairs", "history author")
    print("python client: import, create, retry, update, stale etag, bad input, list, get, history: ok")


if __name__ == "__main__":
    main()
