"""The training budget: when validation is scored, and when the budget ran out too early."""

from medstation.engine.classifier.training import TrainingOutcome, validation_interval


def test_validation_is_scored_every_epoch_or_twenty_times_per_budget_whichever_is_rarer():
    assert validation_interval(240, 37) == 37     # PneumoniaMNIST at 128 per step: every epoch
    assert validation_interval(240, 4) == 12      # 500 images: every 12 steps, 20 scorings
    assert validation_interval(4500, 104) == 225  # 3,328 radiographs at 32 per step
    assert validation_interval(5, 37) == 5        # a budget shorter than an epoch: scored at its end


def test_still_improving_only_when_the_budget_ran_out_on_the_best_scoring():
    rising = TrainingOutcome(240, 240, 240, "budget", [[120, 0.90], [240, 0.95]], 1.0)
    peaked = TrainingOutcome(120, 240, 240, "budget", [[120, 0.95], [240, 0.94]], 1.0)
    stopped = TrainingOutcome(120, 200, 240, "early", [[120, 0.95], [160, 0.94], [200, 0.93]], 1.0)
    assert rising.still_improving and not peaked.still_improving and not stopped.still_improving
