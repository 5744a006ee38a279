"""``medstation train forecaster``, ``forecast`` and ``evaluate forecaster`` on real PhysioNet 2012 records."""

import json

import pytest
from physionet_records import records_with_outcomes

from medstation.cli import main

pytestmark = pytest.mark.slow  # every test here uses a forecaster trained by the command


@pytest.fixture(scope="module")
def records(shared_path, tmp_path_factory):
    """80 real set-a records (a quarter of those who died kept) in a folder, with their outcomes."""
    return records_with_outcomes(shared_path, tmp_path_factory.mktemp("set"), 80)


@pytest.fixture(scope="module")
def trained_bundle(records):
    out = records / "tiny-icu"
    argv = ["train", "forecaster", "--data", str(records / "records"), "--outcomes", str(records / "outcomes.txt"),
            "--out", str(out), "--members", "1", "--epochs", "1", "--hidden", "8",
            "--test-data", str(records / "records"), "--test-outcomes", str(records / "outcomes.txt")]
    assert main(argv) == 0
    return out


def test_train_writes_a_bundle_with_its_command_and_card(trained_bundle, records):
    metadata = json.loads((trained_bundle / "configs" / "metadata.json").read_text())
    assert metadata["task"] == "forecasting"
    assert metadata["training"]["command"].startswith("medstation train forecaster --data")
    assert metadata["training_data"]["splits"] == {"train": 80}
    assert metadata["training"]["outcomes"] == str(records / "outcomes.txt")
    assert metadata["evaluation"]["data"] == str(records / "records")
    card = (trained_bundle / "docs" / "README.md").read_text()
    assert "In-hospital_death" in card and "### Goals" in card


def test_train_refuses_an_existing_output(trained_bundle, records, capsys):
    argv = ["train", "forecaster", "--data", str(records / "records"), "--outcomes", str(records / "outcomes.txt"),
            "--out", str(trained_bundle)]
    assert main(argv) == 1
    assert "already exists" in capsys.readouterr().err


def test_forecast_json_follows_the_contract(trained_bundle, records, capsys):
    record = sorted((records / "records").iterdir())[0]
    assert main(["forecast", str(record), "--model", str(trained_bundle), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["model"] == "tiny-icu" and document["skipped"] == []
    (patient,) = document["patients"]
    assert patient["id"] == record.stem
    assert 47 <= patient["last_hour"] <= 48
    assert all(0.0 <= p <= 1.0 for _, p in patient["risk"])
    hr = patient["forecast"]["HR"]
    assert len(hr) == 12 and all(q["p10"] <= q["p50"] <= q["p90"] for q in hr)
    assert 20 < hr[0]["p50"] < 250


def test_forecast_one_patient_of_a_folder(trained_bundle, records, capsys):
    wanted = sorted((records / "records").iterdir())[3].stem
    argv = ["forecast", str(records / "records"), "--model", str(trained_bundle), "--patient", wanted, "--json"]
    assert main(argv) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)["patients"]] == [wanted]


def test_forecast_of_a_missing_file_names_it(trained_bundle, tmp_path, capsys):
    assert main(["forecast", str(tmp_path / "nope.txt"), "--model", str(trained_bundle)]) == 1
    assert "nope.txt" in capsys.readouterr().err


def test_evaluate_reports_model_and_baselines_and_records_them_in_the_card(trained_bundle, records, capsys):
    data, outcomes = str(records / "records"), str(records / "outcomes.txt")
    weights = (trained_bundle / "models" / "model.pt").read_bytes()
    argv = ["evaluate", "forecaster", "--model", str(trained_bundle), "--data", data, "--outcomes", outcomes,
            "--train-data", data, "--train-outcomes", outcomes, "--record", "--json"]
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert 0.0 <= document["metrics"]["mortality_auroc"] <= 1.0
    assert {"locf", "linear", "blend", "gbm"} <= set(document["baselines"])
    assert "6" in document["metrics"]["mae"]["HR"]
    metadata = json.loads((trained_bundle / "configs" / "metadata.json").read_text())
    assert metadata["evaluation"]["data"] == data
    assert "mortality_auroc" in metadata["metrics"][metadata["evaluation"]["split"]]
    card = (trained_bundle / "docs" / "README.md").read_text()
    assert "## Evaluation" in card and "last value carried forward" in card
    assert (trained_bundle / "models" / "model.pt").read_bytes() == weights
    assert main(["forecast", str(sorted((records / "records").iterdir())[0]), "--model", str(trained_bundle)]) == 0


def test_forecast_skips_patients_it_cannot_forecast_and_fails_when_none_is_left(trained_bundle, tmp_path, capsys):
    timelines = tmp_path / "two.csv"
    timelines.write_text("patient_id,time,variable,value\nshort,0,HR,80\nshort,2,HR,82\nlong,0,HR,80\nlong,3000,HR,81\n")
    assert main(["forecast", str(timelines), "--model", str(trained_bundle), "--json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert [p["id"] for p in document["patients"]] == ["short"]
    (skipped,) = document["skipped"]
    assert skipped["id"] == "long" and "up to hour 3000" in skipped["reason"] and "2160 hours" in skipped["reason"]
    header_only = tmp_path / "132539.txt"
    header_only.write_text("Time,Parameter,Value\n00:00,RecordID,132539\n")
    assert main(["forecast", str(header_only), "--model", str(trained_bundle)]) == 1
    err = capsys.readouterr().err
    assert f"{header_only}: no patient could be forecast (1 skipped" in err and "no measurements" in err


def test_evaluate_prints_n_a_where_the_test_set_cannot_give_a_figure(trained_bundle, records, tmp_path, capsys):
    outcomes = (records / "outcomes.txt").read_text().splitlines()
    survivors = [row.split(",")[0] for row in outcomes[1:] if row.split(",")[-1] == "0"][:3]
    folder = tmp_path / "survivors"
    folder.mkdir()
    for record in survivors:
        (folder / f"{record}.txt").write_bytes((records / "records" / f"{record}.txt").read_bytes())
    data, all_outcomes = str(records / "records"), str(records / "outcomes.txt")
    argv = ["evaluate", "forecaster", "--model", str(trained_bundle), "--data", str(folder), "--outcomes",
            all_outcomes, "--train-data", data, "--train-outcomes", all_outcomes]
    assert main(argv) == 0
    assert "AUROC n/a" in capsys.readouterr().out


def test_evaluate_names_an_outcomes_file_that_lacks_test_patients(trained_bundle, records, tmp_path, capsys):
    partial = tmp_path / "partial.txt"
    partial.write_text("\n".join((records / "outcomes.txt").read_text().splitlines()[:3]) + "\n")
    data = str(records / "records")
    argv = ["evaluate", "forecaster", "--model", str(trained_bundle), "--data", data, "--outcomes", str(partial),
            "--train-data", data, "--train-outcomes", str(records / "outcomes.txt")]
    assert main(argv) == 1
    assert f"{partial}: no In-hospital_death for 78 of the 80 patients in {data}" in capsys.readouterr().err
