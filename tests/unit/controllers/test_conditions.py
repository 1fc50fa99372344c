from greenshift.controllers.conditions import Condition, merge_conditions


def test_transition_time_moves_only_when_the_status_changes() -> None:
    first = merge_conditions(None, [Condition("Ready", "False", "Creating", "m")], 1, "t1")
    assert first[0]["lastTransitionTime"] == "t1"
    assert first[0]["observedGeneration"] == 1
    same = merge_conditions(first, [Condition("Ready", "False", "Waiting", "other")], 2, "t2")
    assert same[0]["lastTransitionTime"] == "t1"
    assert (same[0]["reason"], same[0]["observedGeneration"]) == ("Waiting", 2)
    flipped = merge_conditions(same, [Condition("Ready", "True", "Ready", "ok")], 2, "t3")
    assert flipped[0]["lastTransitionTime"] == "t3"
