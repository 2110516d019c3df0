"""The plugin as pytest sees it: options, ini twins, usage errors, header, collection.

Tier 2 (pytester.parseconfigure) and a few end-to-end runs in a subprocess,
where what matters is the real command line: entry point, exit codes, stderr.
"""

from __future__ import annotations

import pytest
import torch

from conftest import EXERCISES, REFERENCE, build_submission, grade
from fcnn_grader import data as data_mod
from fcnn_grader.plugin import SETTINGS_KEY


@pytest.fixture
def project(pytester):
    """A student's project: exercises/ and reference/ in the rootdir."""
    build_submission(pytester.path / "exercises", base=EXERCISES)
    build_submission(pytester.path / "reference", base=REFERENCE)
    pytester.makeini("[pytest]\n")
    return pytester.path


def settings_for(pytester, *args):
    config = pytester.parseconfigure(*args)
    return config.stash[SETTINGS_KEY]


# ----- settings from options and ini ------------------------------------------------------


def test_without_exercise_the_plugin_is_inactive(pytester, project):
    settings = settings_for(pytester)
    assert not settings.active


def test_options_become_settings(pytester, project):
    s = settings_for(pytester, "--exercise=training_step,network", "--impl=reference", "--device=cpu", "--lang=zh")
    assert s.exercises == ("network", "training_step")  # course order
    assert s.submission == (project / "reference").resolve()
    assert s.display == "reference"
    assert (s.device, s.lang, s.impl) == ("cpu", "zh", "reference")


def test_exercise_all_means_every_exercise(pytester, project):
    s = settings_for(pytester, "--exercise=all", "--device=cpu")
    assert s.exercises == ("data", "network", "num_correct", "training_step", "training_loop")
    assert s.display == "exercises"


def test_ini_twins(pytester, project):
    pytester.makeini("[pytest]\nfcnn_impl = reference\nfcnn_device = cpu\nfcnn_lang = zh\n")
    s = settings_for(pytester, "--exercise=num_correct")
    assert (s.impl, s.device, s.lang) == ("reference", "cpu", "zh")


def test_command_line_beats_ini(pytester, project):
    pytester.makeini("[pytest]\nfcnn_impl = reference\nfcnn_lang = zh\n")
    s = settings_for(pytester, "--exercise=num_correct", "--impl=exercises", "--lang=en", "--device=cpu")
    assert (s.impl, s.lang) == ("exercises", "en")


def test_submission_from_ini_beats_impl_from_ini(pytester, project):
    pytester.makeini(f"[pytest]\nfcnn_impl = exercises\nfcnn_submission = {REFERENCE}\n")
    s = settings_for(pytester, "--exercise=num_correct", "--device=cpu")
    assert s.submission == REFERENCE and s.impl is None


def test_data_root_option(pytester, project, tmp_path):
    raw = data_mod.raw_folder(tmp_path)
    raw.mkdir(parents=True)
    for name in data_mod.RAW_FILES.values():
        (raw / name).write_bytes(b"")
    s = settings_for(pytester, "--exercise=data", f"--data-root={tmp_path}", "--device=cpu")
    assert s.data_source.origin == "data-root" and s.data_source.root == tmp_path


def test_lang_defaults_to_the_locale(pytester, project, monkeypatch):
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert settings_for(pytester, "--exercise=network", "--device=cpu").lang == "zh"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert settings_for(pytester, "--exercise=network", "--device=cpu").lang == "en"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--exercise=netwrk"], "unknown exercise 'netwrk'"),
        (["--exercise=network", "--impl=solutions"], "--impl=solutions: choose exercises or reference"),
        (["--exercise=network", "--submission=nowhere"], "no such directory"),
        (["--exercise=network", "--impl=reference", "--submission=."], "use one of them"),
        (["--exercise=network", "--device=tpu"], "--device=tpu: choose auto, cpu or cuda"),
        (["--exercise=network", "--lang=fr"], "--lang=fr: choose en or zh"),
        (["--exercise=network", "--data-root=nowhere"], "--data-root=nowhere: no such directory"),
        (["--exercise=data", "--data-root=."], "holds no FashionMNIST files"),
    ],
)
def test_bad_configuration_is_a_usage_error(pytester, project, args, words):
    with pytest.raises(pytest.UsageError, match=words.replace("(", r"\(").replace(")", r"\)")):
        pytester.parseconfigure(*args)


def test_missing_contract_file_is_a_usage_error(pytester, project):
    (project / "exercises" / "metrics.py").unlink()
    with pytest.raises(pytest.UsageError, match=r"metrics.py is missing \(exercise num_correct needs it\)"):
        pytester.parseconfigure("--exercise=num_correct")
    settings_for(pytester, "--exercise=network", "--device=cpu")  # other exercises still run


def test_missing_impl_directory_names_the_rootdir(pytester):
    pytester.makeini("[pytest]\n")
    with pytest.raises(pytest.UsageError, match="--impl=exercises: no such directory .* \\(rootdir is"):
        pytester.parseconfigure("--exercise=network")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_usage_error(pytester, project):
    with pytest.raises(pytest.UsageError, match="--device=cuda: no CUDA device is available"):
        pytester.parseconfigure("--exercise=network", "--device=cuda")


# ----- end to end, as a user meets it -------------------------------------------------------


def test_usage_error_is_one_line_and_no_traceback(pytester, project):
    result = pytester.runpytest_subprocess("--exercise=netwrk")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert errors == ["ERROR: --exercise: unknown exercise 'netwrk'; choose from data, network, num_correct, training_step, training_loop, all"]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_plugin_can_be_disabled(pytester):
    result = pytester.runpytest_subprocess("-p", "no:fcnn_grader", "--help")
    assert "--exercise" not in result.stdout.str()
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["fcnn-grader*", "*--exercise=NAME*", "*fcnn_impl*"])


def test_loading_the_plugin_imports_no_torch(pytester):
    pytester.makepyfile(
        """
        import sys
        def test_nothing_heavy_loaded(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("fcnn_grader")
            assert not {"torch", "torchvision"} & set(sys.modules)
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_without_exercise_ordinary_tests_run_as_usual(pytester, project):
    pytester.makepyfile("def test_one(): pass")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "fcnn-grader:" not in result.stdout.str()


def test_with_exercise_only_the_checks_run_and_the_header_says_so(pytester, project):
    pytester.makepyfile("def test_user_test(): assert False")
    result = pytester.runpytest("--exercise=num_correct", "--impl=reference", "--device=cpu", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "fcnn-grader: exercise=num_correct submission=reference (--impl=reference) device=cpu lang=*",
            "fcnn-grader data: *",
            "*collected 3 items",
            "num_correct::crafted_inputs PASSED*",
        ]
    )
    assert "test_user_test" not in result.stdout.str()


def test_stub_failures_name_the_exercise_file(pytester, project):
    result = pytester.runpytest("--exercise=network,training_step", "--device=cpu", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=9)
    text = result.stdout.str()
    assert text.count("not implemented yet: exercises/network.py::Network.__init__") >= 6
    assert "not implemented yet: exercises/training_step.py::training_step" in text


def test_k_and_m_select_checks(pytester, project):
    result = pytester.runpytest("--exercise=all", "--impl=reference", "--device=cpu", "-k", "returns", "-m", "not fcnn_slow")
    result.assert_outcomes(passed=2)  # num_correct::returns_int, training_step::returns_loss


def test_without_data_the_data_checks_skip_with_one_line(pytester, project, monkeypatch):
    monkeypatch.setattr(data_mod, "DEBIAN_DIR", pytester.path / "no-debian-data")
    monkeypatch.delenv(data_mod.ENV_DATA_ROOT, raising=False)
    result = pytester.runpytest("--exercise=data,training_loop", "--impl=reference", "--device=cpu", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, skipped=3)
    result.stdout.fnmatch_lines(["fcnn-grader: 3 check(s) skipped: FashionMNIST not found: install Debian's dataset-fashion-mnist*"])


def test_the_same_verdicts_on_every_run(pytester, submission):
    buggy = submission(REFERENCE.parent / "tests" / "submissions" / "buggy" / "no_zero_grad")
    first = grade(pytester, buggy, "training_step,num_correct")
    second = grade(pytester, buggy, "training_step,num_correct")
    assert first.outcomes == second.outcomes
    assert first.texts == second.texts


def test_xdist_runs_the_checks_in_workers(pytester, project):
    pytest.importorskip("xdist")
    result = pytester.runpytest_subprocess(
        "--exercise=network,num_correct", "--impl=reference", "--device=cpu", "-n", "2", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=9)


def test_a_grader_check_failure_carries_its_points(pytester, submission):
    run = grade(pytester, submission(REFERENCE.parent / "tests" / "submissions" / "buggy" / "summed_loss"), "training_step")
    props = run.properties["training_step::returns_loss"]
    assert props["fcnn_check"] == "training_step::returns_loss"
    assert props["fcnn_points"] == 2.0
    assert props["fcnn_score"] == 1.0  # a float, but not the right one: half the parts
    assert props["fcnn_parts"] == "1/2"



def test_works_beside_common_plugins(pytester, project):
    """Options named like pytest-timeout's or xdist's would stop pytest before it starts."""
    pytest.importorskip("pytest_timeout")
    result = pytester.runpytest_subprocess(
        "--exercise=num_correct", "--impl=reference", "--device=cpu", "--timeout=120", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3)


def test_the_run_ends_with_a_score_table(pytester, project):
    result = pytester.runpytest("--exercise=num_correct,training_step", "--device=cpu", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*= fcnn-grader score =*", "num_correct * 0 / 6", "training_step * 0 / 8", "total * 0 / 14 (0%)"])
    quiet = pytester.runpytest("--exercise=num_correct", "--impl=reference", "--device=cpu", "-q", "-p", "no:cacheprovider")
    quiet.stdout.fnmatch_lines(["fcnn-grader score: 6/6 (100%)"])


def test_junit_xml_carries_each_checks_points(pytester, project):
    import xml.etree.ElementTree as ET

    xml = pytester.path / "junit.xml"
    pytester.runpytest("--exercise=training_step", "--submission=" + str(REFERENCE.parent / "tests" / "submissions" / "buggy" / "summed_loss"),
                       "--device=cpu", f"--junitxml={xml}", "-p", "no:cacheprovider")
    cases = {case.get("name"): case for case in ET.parse(xml).getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["returns_loss"].iter("property")}
    assert (props["fcnn_check"], props["fcnn_points"], props["fcnn_score"]) == ("training_step::returns_loss", "2.0", "1.0")
