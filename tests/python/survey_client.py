"""An outside client of the survey collection service, generated from proto/ with grpcio-tools.

It runs a round end to end as a survey office would: create and publish a questionnaire, list it,
open a round over a county, submit responses in bulk over a client stream (and resend a batch,
which must come back as duplicates), read results and coverage, then close the round.
Usage: survey_client.py SURVEY_HOST:PORT (the registry behind it holds the sample divisions).
"""

import sys

import grpc
from google.protobuf import timestamp_pb2

from shequ.common.v1 import common_pb2
from shequ.survey.v1 import questionnaire_pb2, questionnaire_pb2_grpc, response_pb2, response_pb2_grpc
from shequ.survey.v1 import round_pb2, round_pb2_grpc

REGION = "divisions/429004"  # 仙桃市 in the sample
START, END, COLLECTED = 1_735_689_600, 1_767_225_600, 1_750_000_000


def expect(condition, message):
    if not condition:
        raise SystemExit("FAILED: " + message)


def ts(seconds):
    return timestamp_pb2.Timestamp(seconds=seconds)


def main():
    channel = grpc.insecure_channel(sys.argv[1])
    grpc.channel_ready_future(channel).result(timeout=60)
    questionnaires = questionnaire_pb2_grpc.QuestionnaireServiceStub(channel)
    rounds = round_pb2_grpc.RoundServiceStub(channel)
    responses = response_pb2_grpc.ResponseServiceStub(channel)

    draft = questionnaires.CreateQuestionnaire(
        questionnaire_pb2.CreateQuestionnaireRequest(
            questionnaire=questionnaire_pb2.Questionnaire(
                title="社区服务满意度调查",
                questions=[
                    questionnaire_pb2.Question(
                        id="q_overall",
                        text="您对社区服务总体满意吗？",
                        type=questionnaire_pb2.QUESTION_TYPE_SATISFACTION,
                        required=True,
                        counts_towards_satisfaction=True,
                        dimension=common_pb2.SERVICE_KIND_ELDERLY_CARE,
                    ),
                    questionnaire_pb2.Question(
                        id="q_visited", text="今年去过服务中心吗？", type=questionnaire_pb2.QUESTION_TYPE_YES_NO
                    ),
                ],
            )
        )
    ).questionnaire
    published = questionnaires.PublishQuestionnaire(
        questionnaire_pb2.PublishQuestionnaireRequest(name=draft.name)
    ).questionnaire
    expect(published.version == 1, f"published version {published.version}")
    listed = questionnaires.ListQuestionnaires(
        questionnaire_pb2.ListQuestionnairesRequest(state=questionnaire_pb2.QUESTIONNAIRE_STATE_PUBLISHED)
    )
    expect(draft.name in [q.name for q in listed.questionnaires], "published questionnaire not listed")

    # A bad round is refused with the offending field.
    try:
        rounds.CreateRound(round_pb2.CreateRoundRequest(round=round_pb2.Round(display_name="x")))
        raise SystemExit("FAILED: an incomplete round was created")
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"incomplete round: {e.code()}")

    created = rounds.CreateRound(
        round_pb2.CreateRoundRequest(
            round=round_pb2.Round(
                display_name="2025 年度仙桃市满意度调查",
                questionnaire=draft.name,
                questionnaire_version=1,
                region=REGION,
                start_time=ts(START),
                end_time=ts(END),
                min_valid_responses=2,
            )
        )
    ).round
    opened = rounds.OpenRound(round_pb2.OpenRoundRequest(name=created.name)).round
    expect(opened.state == round_pb2.ROUND_STATE_OPEN, f"round state {opened.state}")
    open_rounds = rounds.ListRounds(round_pb2.ListRoundsRequest(state=round_pb2.ROUND_STATE_OPEN))
    expect(created.name in [r.name for r in open_rounds.rounds], "open round not listed")

    coverage = rounds.GetRoundCoverage(round_pb2.GetRoundCoverageRequest(round=created.name, page_size=1000))
    units = [u.leaf_unit for u in coverage.short_leaf_units]
    expect(len(units) >= 2, f"{len(units)} leaf units in the region")

    def response(i, unit, rating):
        return response_pb2.Response(
            response_id=f"py-{i}",
            leaf_unit=unit,
            channel=response_pb2.CHANNEL_ONLINE,
            collect_time=ts(COLLECTED),
            answers=[
                response_pb2.Answer(question_id="q_overall", rating=rating),
                response_pb2.Answer(question_id="q_visited", yes=i % 2 == 0),
            ],
        )

    # Two batches over one stream: three responses for the first unit, one for the second, one bad.
    batch1 = [response(1, units[0], 5), response(2, units[0], 4), response(3, units[0], 3)]
    batch2 = [response(4, units[1], 1), response(5, "divisions/110101001001", 5)]

    def stream(*batches):
        for b in batches:
            yield response_pb2.BulkSubmitResponsesRequest(parent=created.name, responses=b)

    outcomes = [r.outcome for reply in responses.BulkSubmitResponses(stream(batch1, batch2)) for r in reply.results]
    accepted = response_pb2.SUBMIT_OUTCOME_ACCEPTED
    expect(outcomes[:4] == [accepted] * 4, f"outcomes {outcomes}")
    expect(outcomes[4] == response_pb2.SUBMIT_OUTCOME_REJECTED, "a unit outside the region was accepted")
    # Resending a batch (a client retry after a broken stream) stores nothing twice.
    again = [r.outcome for reply in responses.BulkSubmitResponses(stream(batch1)) for r in reply.results]
    expect(again == [response_pb2.SUBMIT_OUTCOME_DUPLICATE] * 3, f"resent outcomes {again}")

    results = rounds.GetRoundResults(round_pb2.GetRoundResultsRequest(round=created.name))
    expect(results.valid_responses == 4, f"valid responses {results.valid_responses}")
    # Ratings 5, 4, 3, 1 score 100, 75, 50, 0.
    expect(abs(results.satisfaction_index - 56.25) < 1e-9, f"index {results.satisfaction_index}")
    overall = next(q for q in results.questions if q.question_id == "q_overall")
    expect([c.responses for c in overall.counts] == [1, 0, 1, 1, 1], f"counts {overall.counts}")
    unit_results = rounds.GetRoundResults(round_pb2.GetRoundResultsRequest(round=created.name, division=units[0]))
    expect(unit_results.valid_responses == 3, f"unit valid {unit_results.valid_responses}")
    coverage = rounds.GetRoundCoverage(round_pb2.GetRoundCoverageRequest(round=created.name))
    expect(coverage.covered_leaf_units == 1, f"covered {coverage.covered_leaf_units}")

    closed = rounds.CloseRound(round_pb2.CloseRoundRequest(name=created.name)).round
    expect(closed.state == round_pb2.ROUND_STATE_CLOSED, f"closed state {closed.state}")
    print(
        f"survey round {created.name}: {results.valid_responses} valid responses, "
        f"index {results.satisfaction_index:.2f}, {coverage.covered_leaf_units} of {coverage.leaf_units} units covered"
    )


if __name__ == "__main__":
    main()
