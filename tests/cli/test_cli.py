"""The realize command: every subcommand on real fits, and every bad input -> one line, exit 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import realize
from realize.cli import main
from realize.tabular import write_table
from realize.testing import duffing_oscillator

TRUE = realize.StateSpace(
    [[0.9, 0.3], [-0.3, 0.9]],
    [[1.0], [0.5]],
    [[1.0, 0.0]],
    dt=0.01,
    K=[[0.3], [0.1]],
    Lambda=[[0.01]],
)


def _data(seed, T=1500):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((T, 1))
    y = TRUE.simulate(u, rng=rng)
    return u, y


@pytest.fixture
def csv_file(tmp_path, rng):
    u, y = _data(int(rng.integers(1 << 30)))
    path = tmp_path / "plant.csv"
    write_table(
        path,
        {
            "time [s]": np.arange(len(u)) * 0.01,
            "u [V]": u[:, 0],
            "y [V]": y[:, 0],
            "note": np.zeros(len(u)),
        },
    )
    return path


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_csv_names_columns_finds_the_order_and_writes_everything(tmp_path, csv_file, capsys):
    report = tmp_path / "rep"
    model_path = tmp_path / "m.npz"
    code, out, err = run(
        capsys,
        "fit",
        csv_file,
        "--input",
        "u",
        "--output",
        "y",
        "--report",
        report,
        "--save",
        model_path,
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["order"] == 2
    assert summary["fit_percent"][0] > 90
    assert summary["dt"] == pytest.approx(0.01) and summary["time_unit"] == "s"
    assert summary["model"]["stable"] is True
    assert summary["inputs"] == ["u [V]"] and summary["outputs"] == ["y [V]"]
    assert summary["estimation_samples"] == 1125 and summary["validation_samples"] == 375
    # the saved model carries names, units and the sampling period, and its poles are right
    model = realize.load(model_path)
    assert model.dt == pytest.approx(0.01)
    assert model.input_names == ("u",) and model.output_units == ("V",)
    np.testing.assert_allclose(
        np.sort_complex(model.poles()), np.sort_complex(TRUE.poles()), atol=0.01
    )
    # the model is also written beside its report, where 'realize info' can read it
    assert summary["model_file"] == str(report / "model.npz")
    assert realize.load(report / "model.npz") == model
    files = {p.name for p in report.iterdir()}
    assert {
        "model.npz",
        "index.html",
        "summary.json",
        "singular_values.png",
        "simulation.png",
        "bode.png",
        "poles_zeros.png",
        "innovation_autocorrelation.png",
    } <= files
    page = (report / "index.html").read_text()
    assert "simulation.png" in page and "Poles" in page and "fit" in page
    # no progress display when stderr is not a terminal; one warning for the unused column
    assert (
        err
        == f"realize: warning: {csv_file}: column(s) 'note' unused (neither --input nor --output)\n"
    )
    assert set(summary["timings"]) == {"identification", "validation", "report"}


def test_progress_is_a_transient_status_line_on_a_terminal(csv_file, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = run(capsys, "fit", csv_file, "-u", "u", "-y", "y", "--no-report")
    assert code == 0
    progress, _, warning = err.partition("realize: warning: ")
    assert "identifying plant.csv (N4SID, order auto, 1125 samples) ..." in progress
    assert progress.endswith("\r\x1b[K") and "\n" not in progress  # erased: nothing left
    assert "'note' unused" in warning


def test_fit_prints_a_readable_summary(tmp_path, csv_file, capsys):
    code, out, err = run(
        capsys,
        "fit",
        csv_file,
        "-u",
        "u [V]",
        "-y",
        "y [V]",
        "--no-report",
        "--order",
        "2",
        "--method",
        "moesp",
    )
    assert code == 0, err
    assert "order      2: fixed by the user" in out
    assert "% on validation data" in out and "RMSE" in out and " V " in out
    assert "stable     yes" in out and "poles" in out and "Hz" in out
    assert "whiteness" in out
    assert not (tmp_path / "realize-report-plant").exists()


def test_fit_default_report_folder_and_quiet(tmp_path, csv_file, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "fit", csv_file, "--input", "u", "--output", "y", "--quiet")
    assert code == 0
    assert out == "" and err == ""
    assert (tmp_path / "realize-report-plant" / "index.html").exists()


def test_fit_npz_parquet_mimo_and_output_only(tmp_path, capsys):
    rng = np.random.default_rng(5)
    from realize.testing import random_statespace

    sys2 = random_statespace(rng, n=3, m=2, p=2, innovation=True, radius=0.9)
    u = rng.standard_normal((2000, 2))
    y = sys2.simulate(u, rng=rng)
    np.savez(tmp_path / "d.npz", u=u, y=y)
    code, out, err = run(
        capsys,
        "fit",
        tmp_path / "d.npz",
        "--input",
        "u",
        "--output",
        "y",
        "--no-report",
        "--json",
        "--feedthrough",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["outputs"] == ["y:0", "y:1"] and len(summary["fit_percent"]) == 2
    # oracle: the true model's own simulation fit on the same validation part
    from realize.compare import fit_percent, simulate_from_window

    yhat, _ = simulate_from_window(sys2, y[1500:], u[1500:], 50)
    best = fit_percent(y[1550:], yhat[50:])
    assert np.all(np.array(summary["fit_percent"]) > best - 3), (summary["fit_percent"], best)
    write_table(tmp_path / "d.parquet", {"u1": u[:, 0], "u2": u[:, 1], "y1": y[:, 0]})
    code, out, err = run(
        capsys, "fit", tmp_path / "d.parquet", "-u", "u1,u2", "-y", "y1", "--no-report", "--json"
    )
    assert code == 0, err
    # output-only: a stochastic model of y alone, judged by its innovations
    code, out, err = run(
        capsys, "fit", tmp_path / "d.npz", "--output", "y", "--report", tmp_path / "rep", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["model"]["m"] == 0 and summary["whiteness"]["lags"] == 40
    assert (tmp_path / "rep" / "innovation_autocorrelation.png").exists()


@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "text.csv").write_text("u,y\n1,2\n3,abc\n4,5\n")
    (tmp_path / "nan.csv").write_text(
        "u,y\n" + "".join(f"{k},{k if k != 7 else ''}\n" for k in range(100))
    )
    (tmp_path / "short.csv").write_text("u,y\n" + "".join(f"{k},{k * k}\n" for k in range(12)))
    (tmp_path / "noheader.csv").write_text("1,2\n3,4\n")
    (tmp_path / "data.xlsx").write_text("")
    u, y = _data(0, 400)
    write_table(tmp_path / "ok.csv", {"u": u[:, 0], "y": y[:, 0]})
    np.savez(tmp_path / "transposed.npz", u=u.T, y=y)  # u as (1, T): a transposed input
    return tmp_path


BAD = [
    (["fit", "missing.csv", "--output", "y"], "missing.csv: no such file"),
    (["fit", "ok.csv", "--output", "speed"], "no column 'speed'"),
    (["fit", "ok.csv", "--input", "u", "--output", "u"], "also an output"),
    (["fit", "text.csv", "--input", "u", "--output", "y"], "not numeric ('abc' on line 3)"),
    (
        ["fit", "nan.csv", "--input", "u", "--output", "y"],
        "missing or NaN value(s), the first on line 9",
    ),
    (["fit", "short.csv", "--input", "u", "--output", "y"], "too little data"),
    (["fit", "noheader.csv", "--output", "1"], "header row"),
    (["fit", "data.xlsx", "--output", "y"], "unknown data format"),
    (
        ["fit", "ok.csv", "--output", "y", "--order", "zero"],
        "expected 'auto', 'validate' or a positive integer",
    ),
    (["fit", "ok.csv", "--output", "y", "--order", "500"], "expected at least"),
    (["fit", "ok.csv", "--output", "y", "--method", "magic"], "invalid choice"),
    (["fit", "ok.csv", "--output", "y", "--validate", "1.5"], "strictly between 0 and 1"),
    (["fit", "ok.csv"], "--output"),
    (["frobnicate"], "invalid choice"),
    (["info", "ok.csv"], "ok.csv"),
    (["info", "nope.npz"], "nope.npz: no such file"),
    (["simulate", "nope.npz", "--steps", "10", "--out", "x.csv"], "no such file"),
    (["simulate", "model.npz", "--steps", "-3", "--out", "x.csv"], "positive integer"),
    (["simulate", "model.npz", "--steps", "10", "--out", "x.xlsx"], "unknown output format"),
    (["convert", "model.npz", "--form", "wobbly", "--save", "x.npz"], "wobbly"),
    (
        ["fit", "transposed.npz", "--input", "u", "--output", "y"],
        "--input: expected time along the rows, a (T, channels) array, got 'u' of "
        "transposed.npz with 1 sample(s) of 400 channels: is it transposed? Store it as a "
        "(400, 1) array",
    ),
    (["fit", "ok.csv", "--output", "y", "--save", "no/such/dir/m.npz"], "no such folder"),
    (["data", "nope", "--out", "x.csv"], "invalid choice: 'nope'"),
    (["data", "buck_converter", "--split", "train", "--out", "x.csv"], "expected one of id, valid"),
    (["data", "--out", "x.csv"], "NAME: expected a data set name"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a)[:40] for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(bad_files, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(bad_files)
    realize.save(TRUE, bad_files / "model.npz")
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("realize"), err
    assert message in lines[0]
    assert "Traceback" not in err


def test_console_script_bad_input_has_no_traceback(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [
        sys.executable,
        "-c",
        "import sys; from realize.cli import main; sys.exit(main())",
        "fit",
        str(tmp_path / "none.csv"),
        "--output",
        "y",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"realize: error: {tmp_path / 'none.csv'}: no such file"
    ]


def test_info_convert_simulate_reverse(tmp_path, capsys):
    path = tmp_path / "model.npz"
    realize.save(
        TRUE.replace(input_names=["u"], output_names=["y"], input_units=["V"], output_units=["V"]),
        path,
    )
    code, out, err = run(capsys, "info", path)
    assert code == 0, err
    assert "n = 2 states" in out and "stable     yes" in out and "hankel sv" in out
    code, out, err = run(capsys, "info", path, "--json")
    info = json.loads(out)
    assert info["spectral_radius"] == pytest.approx(np.hypot(0.9, 0.3))
    assert len(info["hankel_singular_values"]) == 2

    for form in ("modal", "balanced", "observable"):
        code, out, err = run(
            capsys, "convert", path, "--form", form, "--save", tmp_path / f"{form}.npz", "--json"
        )
        assert code == 0, err
        assert json.loads(out)["condition_number"] >= 1
        new = realize.load(tmp_path / f"{form}.npz")
        np.testing.assert_allclose(new.markov(20), TRUE.markov(20), atol=1e-10)

    u = np.random.default_rng(1).standard_normal(50)
    write_table(tmp_path / "in.csv", {"u [V]": u})
    code, out, err = run(
        capsys,
        "simulate",
        path,
        "--input",
        tmp_path / "in.csv",
        "--out",
        tmp_path / "sim.csv",
        "--no-noise",
    )
    assert code == 0, err
    table = realize.tabular.read_table(tmp_path / "sim.csv")
    assert table.names == ("time [s]", "u [V]", "y [V]")
    np.testing.assert_allclose(
        table.columns["y [V]"], TRUE.simulate(u[:, None], noise=False)[:, 0], rtol=1e-12, atol=1e-14
    )
    code, out, err = run(
        capsys,
        "simulate",
        path,
        "--steps",
        "30",
        "--out",
        tmp_path / "s.npz",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["noise"] is True
    assert np.load(tmp_path / "s.npz")["y [V]"].shape == (30,)

    code, out, err = run(capsys, "reverse", path, "--save", tmp_path / "back.npz")
    assert code == 0, err
    back = realize.load(tmp_path / "back.npz")
    assert back.n == 2 and back.m == 0 and "stochastic part" in out
    # the backward model has the forward model's poles (A_b = P A' P^-1)
    np.testing.assert_allclose(
        np.sort_complex(back.poles()), np.sort_complex(TRUE.poles()), atol=1e-10
    )


def test_reverse_of_an_unstable_model_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "u.npz"
    realize.save(realize.StateSpace([[1.2]], C=[[1.0]], K=[[0.5]], Lambda=[[1.0]]), path)
    code, out, err = run(capsys, "reverse", path, "--save", tmp_path / "b.npz")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_help_and_version(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert realize.__version__ in capsys.readouterr().out


def test_demo(tmp_path):
    """The README's command, as a user runs it: prints the model and where the report is."""
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [
        sys.executable,
        "-c",
        "import sys; from realize.cli import main; sys.exit(main())",
        "demo",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Wiener-Hammerstein" in out
    for key in ("order", "fit", "test RMSE", "stable", "poles", "report"):
        assert f"  {key}" in out
    report = tmp_path / "realize-report-wiener-hammerstein"
    # paths as the user would type them, relative to the current folder
    assert "  report     realize-report-wiener-hammerstein/index.html" in out
    assert "  model      realize-report-wiener-hammerstein/model.npz" in out
    assert (
        realize.load(report / "model.npz").n
        == json.loads((report / "summary.json").read_text())["order"]
    )
    summary = json.loads((report / "summary.json").read_text())
    assert summary["samples"] == {"train": 80000, "valid": 20000, "test": 88000}
    assert np.isfinite(summary["test_rmse"][0])
    assert len(list(report.glob("*.png"))) >= 5


def test_fit_nonlinear_grows_a_neural_model_beside_the_linear_one(tmp_path, rng, capsys):
    pytest.importorskip("torch")
    y, u = duffing_oscillator(rng, 4000)
    data = tmp_path / "duffing.csv"
    write_table(data, {"u": u, "y [m]": y})
    report, saved = tmp_path / "rep", tmp_path / "duffing.npz"
    code, out, err = run(
        capsys,
        "fit",
        data,
        "--input",
        "u",
        "--output",
        "y [m]",
        "--order",
        "2",
        "--nonlinear",
        "--budget",
        "600",
        "--steps",
        "150",
        "--report",
        report,
        "--save",
        saved,
        "--json",
        "-q",
    )
    assert code == 0, err
    summary = json.loads(out)
    nl = summary["nonlinear"]
    # a step count, not a wall-clock budget, ends the training: the same on any machine
    assert nl["steps"] == 150 and nl["stop_reason"] == "max_steps"
    assert nl["rmse"][0] < 0.8 * summary["rmse"][0]
    for path in (report / "neural_model.safetensors", tmp_path / "duffing.neural.safetensors"):
        model = realize.nn.NeuralStateSpace.load(path)
        assert model.config() == nl["model"]
    html = (report / "index.html").read_text()
    assert "Linear and neural state-space models" in html
    assert (report / "simulation_nonlinear.png").exists() and (
        report / "error_spectra.png"
    ).exists()


def test_fit_nonlinear_needs_inputs(tmp_path, rng, capsys):
    y, u = duffing_oscillator(rng, 600)
    data = tmp_path / "duffing.csv"
    write_table(data, {"u": u, "y": y})
    code, out, err = run(capsys, "fit", data, "--output", "y", "--nonlinear", "--no-report")
    assert code == 2
    assert err.count("\n") == 1 and "--nonlinear" in err and "--input" in err


def test_python_dash_m_realize_runs_the_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "realize", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"realize {realize.__version__}"


def test_parser_choices_are_the_library_constants():
    from realize.canonical import FORM_ALIASES, FORMS
    from realize.cli import build_parser
    from realize.identify import METHODS

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    assert list(sub) == ["fit", "demo", "info", "convert", "simulate", "reverse", "data"]
    method = next(a for a in sub["fit"]._actions if a.dest == "method")
    assert tuple(method.choices) == METHODS
    form = next(a for a in sub["convert"]._actions if a.dest == "form")
    assert tuple(form.choices) == (*FORMS, *FORM_ALIASES)
    assert f"the form: {', '.join(FORMS)}" in " ".join(sub["convert"].format_help().split())
    # a name in any case, and a former name for the release that deprecates it
    assert sub["convert"].parse_args(["m.npz", "--form", "Modal"]).form == "modal"
    assert sub["convert"].parse_args(["m.npz", "--form", "Controller"]).form == "controller"


def test_order_validate_prefers_the_smallest_order_within_noise(tmp_path, capsys):
    """Issue 16: '--order validate' chose order 6 on 4-state data where 'auto' found 4."""
    from realize.identify.order import select_order_by_validation

    A = np.zeros((4, 4))
    for k, (r, th) in enumerate(((0.95, 0.3), (0.8, 1.2))):
        A[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = r * np.array(
            [[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]]
        )
    four = realize.StateSpace(
        A,
        [[1.0], [0.5], [1.0], [-0.5]],
        [[1.0, 0.0, 0.6, 0.2]],
        K=[[0.3], [0.1], [0.2], [0.0]],
        Lambda=[[0.04]],
    )
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2000, 1))
    y = four.simulate(u, rng=rng)
    write_table(tmp_path / "four.csv", {"u": u[:, 0], "y": y[:, 0]})
    code, out, err = run(
        capsys,
        "fit",
        tmp_path / "four.csv",
        "-u",
        "u",
        "-y",
        "y",
        "--order",
        "validate",
        "--no-report",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["order"] == 4 and summary["order_selection"]["chosen"] == 4
    # the command's choice is the library's
    sel = select_order_by_validation(y[:1500], u[:1500], validation=(y[1500:], u[1500:]))
    assert summary["order_selection"]["best"] == sel.best_order
    assert ("within noise" in summary["order_reason"]) == (sel.best_order != 4)


def test_save_writes_exactly_where_asked(tmp_path, csv_file, capsys, monkeypatch):
    """Issue 16: '--save model.bin' wrote model.bin.npz but reported model.bin."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "fit", csv_file, "-u", "u", "-y", "y", "--save", "model.bin")
    assert code == 0, err
    assert (tmp_path / "model.bin").is_file() and not (tmp_path / "model.bin.npz").exists()
    assert "  model      realize-report-plant/model.npz\n" in out
    assert "             model.bin\n" in out
    assert realize.load("model.bin") == realize.load("realize-report-plant/model.npz")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".realize-")] == []
    # without a report, the model is written only where --save says, and the summary says so
    code, out, err = run(capsys, "fit", csv_file, "-u", "u", "-y", "y", "--no-report")
    assert "  model      not saved (--save FILE keeps it)" in out


def test_convert_prints_the_model_without_save(tmp_path, capsys):
    path = tmp_path / "model.npz"
    realize.save(TRUE, path)
    code, out, err = run(capsys, "convert", path, "--form", "observable")
    assert code == 0, err
    assert "observable form of" in out and "--save FILE to keep it" in out
    expected, _ = realize.canonical_form(TRUE, "observable")
    with np.printoptions(precision=4, suppress=True, linewidth=100):
        rows = str(expected.A).splitlines()
    assert f"  A          {rows[0]}\n" in out and f"             {rows[1]}\n" in out
    assert "  K " in out  # the innovation form is shown too
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # nothing written


def _output_error_data(seed=0, T=20000):
    """Output-error data: a plant, white measurement noise on its output, no other noise."""
    plant = realize.StateSpace([[0.9, 0.3], [-0.3, 0.9]], [[1.0], [0.5]], [[1.0, 0.0]])
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((T, 1))
    y = plant.simulate(u, noise=False) + 0.5 * rng.standard_normal((T, 1))
    return u, y


def test_output_error_model_is_not_flagged_and_refine_pem_whitens(tmp_path, capsys):
    """Issue 16: N4SID's K on output-error data made a correct model 'not white'."""
    u, y = _output_error_data()
    write_table(tmp_path / "oe.csv", {"u": u[:, 0], "y": y[:, 0]})
    args = ("fit", tmp_path / "oe.csv", "-u", "u", "-y", "y", "--no-report")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("  whiteness"))
    assert "not white, but the simulation errors are" in line
    assert "correct output-error model" in line and "--refine pem" in line
    assert "try a higher order" not in out
    code, out, err = run(capsys, *args, "--json")
    w = json.loads(out)["whiteness"]
    assert w["verdict"] == "output error" and max(w["outside"]) > 2
    assert max(w["simulation_outside"]) <= 2

    # --refine pem: the prediction-error model has white innovations, fit not worse
    code, out, err = run(capsys, *args, "--refine", "pem", "--json")
    assert code == 0, err
    summary = json.loads(out)
    r = summary["refine"]
    assert r["method"] == "pem" and r["cost_after"] <= r["cost_before"]
    assert r["fit_percent_after"][0] >= r["fit_percent_before"][0] - 0.1
    assert summary["fit_percent"] == r["fit_percent_after"]
    assert summary["whiteness"]["verdict"] == "white"
    code, out, err = run(capsys, *args, "--refine", "pem")
    assert "  refined    by PEM: fit " in out and "log det Lambda" in out
    assert "innovations are white" in out


def test_dynamics_left_out_are_flagged_with_advice(tmp_path, capsys):
    u, y = _data(3, 3000)
    write_table(tmp_path / "d.csv", {"u": u[:, 0], "y": y[:, 0]})
    code, out, err = run(
        capsys, "fit", tmp_path / "d.csv", "-u", "u", "-y", "y", "--order", "1", "--no-report"
    )
    assert code == 0, err
    assert "innovations are not white: try a higher order or --refine pem" in out


def test_warnings_for_unused_columns_swapped_and_missing_inputs(tmp_path, capsys):
    u, y = _data(4, 3000)
    write_table(tmp_path / "d.csv", {"sample": np.arange(3000), "u": u[:, 0], "y": y[:, 0]})
    data = tmp_path / "d.csv"
    # the index column is not a signal: no warning
    code, out, err = run(capsys, "fit", data, "-u", "u", "-y", "y", "--no-report", "-q")
    code, out, err = run(capsys, "fit", data, "-u", "u", "-y", "y", "--no-report")
    assert code == 0 and err == ""
    # --input left out: an output-only model, and the way to use the other column
    code, out, err = run(capsys, "fit", data, "-y", "y", "--no-report")
    assert code == 0
    assert err.splitlines() == [
        "realize: warning: no --input: fitted an output-only (stochastic) model of 'y', "
        "leaving out 'u'; if they are inputs, run again with --input u"
    ]
    # u and y swapped: the 'output' is white, the 'input' a filtered signal
    code, out, err = run(capsys, "fit", data, "-u", "y", "-y", "u", "--no-report")
    assert code == 0
    assert err.splitlines() == [
        "realize: warning: --output 'u' looks like white noise and --input 'y' like a "
        "filtered signal: are --input and --output swapped?"
    ]
    # --quiet keeps them quiet
    code, out, err = run(capsys, "fit", data, "-u", "y", "-y", "u", "--no-report", "-q")
    assert code == 0 and out == "" and err == ""


def test_swap_test_is_quiet_on_coloured_inputs():
    """The swap test of 'realize fit' warns only when the outputs are white and an input
    is not: a white or a coloured input driving a plant is no reason to warn."""
    import warnings

    from realize.cli.fit import _warn_swapped

    rng = np.random.default_rng(5)
    white = rng.standard_normal((4000, 1))
    coloured = TRUE.simulate(white, noise=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_swapped(coloured, white, ["y"], ["u"])  # the usual experiment
        _warn_swapped(TRUE.simulate(coloured, noise=False), coloured, ["y"], ["u"])
    with pytest.warns(realize.errors.RealizeWarning, match="swapped"):
        _warn_swapped(white, coloured, ["y"], ["u"])


def test_data_lists_describes_and_exports_the_shipped_data(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "data")
    assert code == 0, err
    for name in ("wiener_hammerstein", "buck_converter", "dc_motor"):
        assert out.count(name) >= 1
    code, out, err = run(capsys, "data", "buck_converter")
    assert "columns    time [s], duty [1], v_out [V]" in out and not list(tmp_path.iterdir())
    code, out, err = run(capsys, "data", "buck_converter", "--split", "valid", "--out", "b.csv")
    assert code == 0, err
    table = realize.tabular.read_table("b.csv")
    ds = realize.datasets.buck_converter()
    np.testing.assert_array_equal(table.columns["v_out [V]"], ds.valid.y)
    np.testing.assert_array_equal(table.columns["duty [1]"], ds.valid.u)
    # what 'realize fit' needs: the bare names, the sampling period from the time column
    code, out, err = run(
        capsys, "fit", "b.csv", "-u", "duty", "-y", "v_out", "--no-report", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["dt"] == pytest.approx(ds.dt, rel=1e-6)
    assert err == ""
