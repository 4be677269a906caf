"""Nothing the project did not create is deleted or overwritten; model files cannot run code."""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from helpers.core.files import FolderError, atomic_write, remove_stale_temps
from helpers.core.images import save_png
from helpers import sample_data
from helpers.data import synthetic
from helpers.networks import torch_files
from helpers.networks.torch_files import UnsafeFileError
from helpers.pipeline.folder import restore_folder
from helpers.pipeline.restore import Restorer
from helpers.predict import main as predict
from helpers.training import checkpoints
from helpers.training.launch import train
from helpers.training.run_lock import RunLock, RunLockError

from conftest import TINY_GAN


# --- sample_data --out -------------------------------------------------------------------

def test_sample_data_never_replaces_a_folder_it_did_not_make(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("three years of work")
    assert sample_data.main(["--out", str(thesis), "--train", "2", "--test", "1"]) == 2
    err = capsys.readouterr().err
    assert "did not make" in err and str(thesis) in err
    assert (thesis / "thesis.txt").read_text() == "three years of work"
    assert sorted(p.name for p in thesis.iterdir()) == ["thesis.txt"]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    assert sample_data.main(["--out", str(a_file), "--train", "2", "--test", "1"]) == 2
    assert a_file.read_text() == "keep"
    assert not list(tmp_path.glob(".*tmp*")), "no temporary build folder left behind"


def test_sample_data_replaces_only_its_own_build_and_refuses_bad_counts(tmp_path, capsys):
    out = tmp_path / "ds"
    synthetic.build(out, n_train=2, n_test=1, seed=1, progress=False)
    synthetic.build(out, n_train=3, n_test=1, seed=1, progress=False)  # an earlier build of ours: replaced
    assert len((out / "train.csv").read_text().splitlines()) == 4
    assert json.loads((out / "build.json").read_text())["builder"] == "helpers.sample_data"
    (out / "train_split.csv").write_text("input_image_path,gt_image_path\n")  # notebook 02's: ours too
    synthetic.build(out, n_train=2, n_test=1, seed=1, progress=False)
    for foreign in (out / "my_notes.txt", out / "train_input" / "favourite.jpg"):  # a user's file inside
        foreign.write_text("mine")
        with pytest.raises(synthetic.BuildError, match=f"files it did not write .*{foreign.name}"):
            synthetic.build(out, n_train=3, n_test=1, seed=1, progress=False)
        assert foreign.read_text() == "mine" and len((out / "train.csv").read_text().splitlines()) == 3
        foreign.unlink()
    empty = tmp_path / "empty"
    empty.mkdir()
    synthetic.build(empty, n_train=2, n_test=1, progress=False)  # an empty folder is fine
    for bad in (["--train", "-1"], ["--test", "0"]):
        assert sample_data.main(["--out", str(tmp_path / "x"), *bad]) == 2
        assert "at least 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_remove_deletes_only_its_own_build_with_nothing_else_in_it(tmp_path, capsys):
    """`make clean` runs `--remove`: a user's folder, an empty folder, a file or a build holding
    a user's file stay; only a clean build of ours goes."""
    thesis, empty, a_file = tmp_path / "thesis", tmp_path / "empty", tmp_path / "notes.txt"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("three years of work")
    empty.mkdir()
    a_file.write_text("keep")
    for target in (thesis, empty, a_file):
        assert sample_data.main(["--remove", "--out", str(target)]) == 2
        assert str(target) in capsys.readouterr().err and target.exists()
    assert (thesis / "thesis.txt").read_text() == "three years of work" and a_file.read_text() == "keep"
    out = tmp_path / "ds"
    synthetic.build(out, n_train=2, n_test=1, progress=False)
    (out / "test_gt" / "mine.png").write_text("mine")
    assert sample_data.main(["--remove", "--out", str(out)]) == 2
    assert "test_gt/mine.png" in capsys.readouterr().err and (out / "test_gt" / "mine.png").exists()
    (out / "test_gt" / "mine.png").unlink()
    assert sample_data.main(["--remove", "--out", str(out)]) == 0 and not out.exists()
    assert sample_data.main(["--remove", "--out", str(out)]) == 0  # nothing there: nothing to do
    assert "no build" in capsys.readouterr().out


def test_a_killed_builds_temporary_folder_is_cleaned_but_not_a_users(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / ".ds.tmp-abc123"
    stale.mkdir()
    (stale / synthetic.BUILDING).write_text(str(dead.pid))
    users = tmp_path / ".ds.tmp-mine"
    users.mkdir()
    (users / "data.txt").write_text("mine")
    synthetic.build(tmp_path / "ds", n_train=2, n_test=1, progress=False)
    assert not stale.exists() and (users / "data.txt").exists()


# --- predict: overlapping and unwritable folders --------------------------------------------

@pytest.fixture
def photos(tmp_path):
    src = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for i in range(2):
        save_png(rng.integers(0, 256, (96, 128)).astype(np.uint8), src / f"photo_{i}.png")
    return src


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_predict_refuses_overlapping_folders_before_loading_anything(photos, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(Restorer, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    before = snapshot(photos)
    link = tmp_path / "link_to_photos"
    link.symlink_to(photos)
    cases = [
        (["--output-dir", str(photos)], "same folder"),
        (["--output-dir", str(link)], "same folder"),  # a symbolic link to the inputs
        (["--output-dir", str(photos / "restored")], "lies inside"),
        (["--output-dir", str(tmp_path / "out"), "--masks-dir", str(tmp_path / "out")], "same folder"),
        (["--output-dir", str(tmp_path / "out"), "--masks-dir", str(photos)], "same folder"),
    ]
    for extra, message in cases:
        assert predict(["--input-dir", str(photos), "--quiet", *extra]) == 2, extra
        assert message in capsys.readouterr().err, extra
    assert snapshot(photos) == before
    assert not (photos / "restored").exists() and not (tmp_path / "out").exists()


def test_restore_folder_refuses_writing_into_an_inputs_folder(photos, tmp_path):
    """The library guard notebook 06 relies on: no caller can write `<stem>.png` over an input."""
    before = snapshot(photos)
    never = object()  # the restorer is never reached
    other = tmp_path / "other"
    other.mkdir()
    save_png(np.zeros((32, 32), np.uint8), other / "x.png")
    inputs = sorted(photos.iterdir()) + [other / "x.png"]
    for kwargs, message in [(dict(output_dir=photos), "folder of the input images"),
                            (dict(output_dir=tmp_path / "out", masks_dir=other), "folder of the input images"),
                            (dict(output_dir=tmp_path / "out", masks_dir=tmp_path / "out"), "into the output folder")]:
        with pytest.raises(FolderError, match=message):
            restore_folder(never, inputs, progress=False, **kwargs)
    assert snapshot(photos) == before and not (tmp_path / "out").exists()


@pytest.fixture
def bind_mount(tmp_path):
    """mount(target, source): `source`'s folder seen at `target` too (needs root's mount rights)."""
    mounted = []

    def mount(target, source):
        target.mkdir(parents=True)
        if shutil.which("mount") is None:
            pytest.skip("no mount command here")
        if subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode:
            pytest.skip("bind mounts need root's mount rights")
        mounted.append(target)

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", str(target)], check=True)


def test_predict_refuses_one_folder_reached_by_another_path(photos, tmp_path, capsys, monkeypatch, bind_mount):
    """A bind mount (or a case-insensitive file system's other spelling) is the same folder
    though the resolved paths differ: compared by inode, it is refused like a symbolic link."""
    monkeypatch.setattr(Restorer, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    before = snapshot(photos)
    bind_mount(tmp_path / "mnt" / "photos_again", photos)
    bind_mount(tmp_path / "mnt" / "tmp_again", tmp_path)
    for extra, message in [(["--output-dir", str(tmp_path / "mnt" / "photos_again")], "same folder"),
                           (["--output-dir", str(tmp_path / "mnt" / "tmp_again" / "photos" / "new")], "lies inside")]:
        assert predict(["--input-dir", str(photos), "--quiet", *extra]) == 2, extra
        assert message in capsys.readouterr().err, extra
    assert snapshot(photos) == before


def test_predict_output_that_is_a_file_or_unwritable_is_exit_2(photos, tmp_path, capsys, tiny_runs):
    a_file = tmp_path / "result.png"
    a_file.write_bytes(b"user data")
    run = ["--run", str(tiny_runs / "gan"), "--quiet"]
    assert predict(["--input-dir", str(photos), "--output-dir", str(a_file), *run]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert a_file.read_bytes() == b"user data"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: make the folder's file system say no instead
            pytest.skip("running as root: permissions do not stop writes")
        assert predict(["--input-dir", str(photos), "--output-dir", str(locked / "out"), *run]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_predict_unwritable_output_under_root_is_exit_2(photos, tmp_path, capsys, tiny_runs):
    """/proc is read-only for everyone, root included."""
    code = predict(["--input-dir", str(photos), "--output-dir", "/proc/dacon-out", "--run", str(tiny_runs / "gan"),
                    "--quiet"])
    assert code == 2 and "not writable" in capsys.readouterr().err


def test_batch_size_must_be_at_least_one(photos, tmp_path):
    with pytest.raises(SystemExit) as e:
        predict(["--input-dir", str(photos), "--output-dir", str(tmp_path / "o"), "--batch-size", "0"])
    assert e.value.code == 2


# --- leftovers of killed writers ----------------------------------------------------------

def dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporary_files_are_removed_and_nothing_else(tmp_path):
    stale = tmp_path / f".x.png.{dead_pid()}-abcd1234.tmp"
    live = tmp_path / f".y.png.{os.getpid()}-abcd1234.tmp"
    users = [tmp_path / ".notes.tmp", tmp_path / "draft.tmp", tmp_path / f".z.png.{dead_pid()}.tmp"]
    for p in [stale, live, *users]:
        p.write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == [stale]
    assert live.exists() and all(p.exists() for p in users)


def test_predict_cleans_what_a_killed_run_left_in_its_output(photos, tmp_path, tiny_runs):
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / f".photo_0.png.{dead_pid()}-q1w2e3.tmp"
    leftover.write_bytes(b"half a png")
    assert predict(["--input-dir", str(photos), "--output-dir", str(out), "--run", str(tiny_runs / "gan"),
                    "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["photo_0.png", "photo_1.png"]


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    """SIGTERM in the CLI raises SystemExit, so atomic_write removes its temporary file."""
    script = (
        "import sys, time\n"
        "from helpers.core.files import atomic_write\n"
        "from helpers.core.files import sigterm_exits\n"
        "with sigterm_exits():\n"
        f"    atomic_write({str(tmp_path / 'out.bin')!r}, lambda tmp: (open(tmp, 'wb').write(b'x'), "
        "print('writing', flush=True), time.sleep(30)))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.terminate()
    assert proc.wait(timeout=30) == 128 + 15
    assert list(tmp_path.iterdir()) == []


# --- model files cannot run code --------------------------------------------------------------

class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_model_file_is_refused_and_runs_nothing(tmp_path, capsys, photos):
    marker = tmp_path / "pwned"
    evil = tmp_path / "best.pt"
    torch.save({"kind": "restorer", "generator": Payload(marker)}, evil)
    with pytest.raises(UnsafeFileError, match=r"best\.pt: refused: .*posix\.system"):
        Restorer.load(evil)
    assert predict(["--input-dir", str(photos), "--output-dir", str(tmp_path / "o"), "--run", str(evil)]) == 2
    assert "refused" in capsys.readouterr().err
    assert not marker.exists()


def test_a_crafted_checkpoint_in_a_run_folder_stops_the_resume(tiny_runs, split_dataset, tmp_path):
    """Dropped into a run folder that training resumes: refused (not skipped, not run)."""
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    shutil.copytree(tiny_runs / "gan", tmp_path / "gan")
    marker = tmp_path / "pwned"
    torch.save({"epoch": 9, "config": Payload(marker)}, tmp_path / "gan" / "epoch_0009.pt")
    with pytest.raises(UnsafeFileError, match=r"epoch_0009\.pt: refused"):
        train("gan", {**TINY_GAN, "epochs": 10}, split_dataset, tmp_path, progress=False)
    assert not marker.exists()


def test_checkpoints_hold_no_pickled_objects_and_old_ones_still_load(tiny_runs, split_dataset, tmp_path, capsys):
    from torch.serialization import get_unsafe_globals_in_checkpoint
    for path in sorted((tiny_runs / "gan").glob("*.pt")) + sorted((tiny_runs / "mask").glob("*.pt")):
        assert get_unsafe_globals_in_checkpoint(path) == [], path.name
    # a checkpoint as earlier versions wrote it: NumPy's RNG state as a pickled array
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    shutil.copytree(tiny_runs / "gan", tmp_path / "gan")
    newest = tmp_path / "gan" / "epoch_0004.pt"
    state = checkpoints.load(newest)
    state.pop("path", None)
    state["rng"]["numpy"] = np.random.get_state()
    torch.save(state, newest)
    assert "numpy.ndarray" in get_unsafe_globals_in_checkpoint(newest)
    run = train("gan", {**TINY_GAN, "epochs": 5}, split_dataset, tmp_path, progress=False)
    assert "resuming gan after epoch 4" in capsys.readouterr().out and len(run.history) == 5
    from helpers.pipeline.shipped import DEFAULT_MODEL
    assert torch_files.load_file(DEFAULT_MODEL)["kind"] == "restorer"  # the shipped model, weights_only


# --- a run folder whose checkpoints are all corrupt ---------------------------------------------

def test_all_corrupt_checkpoints_refuse_instead_of_starting_over(tiny_runs, split_dataset, tmp_path):
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    shutil.copytree(tiny_runs / "gan", tmp_path / "gan")
    for p in (tmp_path / "gan").glob("epoch_*.pt"):
        p.write_bytes(p.read_bytes()[:1000])
    best, history = (tmp_path / "gan" / "best.pt").read_bytes(), (tmp_path / "gan" / "history.csv").read_text()
    with pytest.warns(UserWarning, match="skipping"), \
            pytest.raises(ValueError, match=r"none of its 2 epoch checkpoint\(s\) can be read(.|\n)*epoch_0004\.pt"
                                            r"(.|\n)*epoch_0003\.pt(.|\n)*start afresh"):
        train("gan", TINY_GAN, split_dataset, tmp_path, progress=False)
    assert (tmp_path / "gan" / "best.pt").read_bytes() == best
    assert (tmp_path / "gan" / "history.csv").read_text() == history
    assert not (tmp_path / "gan" / "run.lock").exists(), "the lock is released when training fails"


# --- one trainer per run folder -------------------------------------------------------------------

def test_a_second_trainer_on_a_run_folder_is_refused(tiny_runs, split_dataset, tmp_path):
    shutil.copytree(tiny_runs / "mask", tmp_path / "mask")
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from helpers.training.run_lock import RunLock; "
                               f"RunLock({str(tmp_path / 'gan')!r}).acquire(); print('held', flush=True); "
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockError, match=rf"in use by process {holder.pid} on "):
            train("gan", TINY_GAN, split_dataset, tmp_path, progress=False)
        assert not (tmp_path / "gan" / "epoch_0003.pt").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale, reported, and taken over
    with pytest.warns(UserWarning, match=rf"stale lock of process {holder.pid} on this machine, which no longer runs"):
        run = train("gan", {**TINY_GAN, "epochs": 1}, split_dataset, tmp_path, progress=False)
    assert len(run.history) == 1 and not (tmp_path / "gan" / "run.lock").exists()


def test_lock_of_another_machine_is_respected_until_its_heartbeat_is_stale(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    info = {"pid": 1, "host": "colab-vm-elsewhere", "token": "x", "started": time.time() - 600}
    (folder / "run.lock").write_text(json.dumps({**info, "heartbeat": time.time() - 10}))
    with pytest.raises(RunLockError, match="colab-vm-elsewhere"):
        RunLock(folder).acquire()
    (folder / "run.lock").write_text(json.dumps({**info, "heartbeat": time.time() - 3600}))
    with pytest.warns(UserWarning, match="silent for 60 min"):
        lock = RunLock(folder).acquire()
    assert json.loads((folder / "run.lock").read_text())["token"] == lock.token
    with pytest.raises(RunLockError):  # and now it is ours, live
        RunLock(folder).acquire()
    lock.release()
    assert not (folder / "run.lock").exists()


def test_heartbeat_keeps_the_lock_fresh(tmp_path):
    lock = RunLock(tmp_path, heartbeat_s=0.05).acquire()
    first = json.loads((tmp_path / "run.lock").read_text())["heartbeat"]
    time.sleep(0.3)
    assert json.loads((tmp_path / "run.lock").read_text())["heartbeat"] > first
    lock.release()


def test_heartbeat_survives_an_unreadable_lock_file_but_yields_to_a_new_owner(tmp_path):
    lock = RunLock(tmp_path, heartbeat_s=0.05).acquire()
    (tmp_path / "run.lock").write_text("{half a file")  # a Drive hiccup: not another owner
    time.sleep(0.3)
    assert json.loads((tmp_path / "run.lock").read_text())["token"] == lock.token
    other = {"pid": 1, "host": "elsewhere", "token": "theirs", "started": 0, "heartbeat": time.time()}
    (tmp_path / "run.lock").write_text(json.dumps(other))  # judged stale and taken over elsewhere
    time.sleep(0.3)
    assert json.loads((tmp_path / "run.lock").read_text())["token"] == "theirs"
    lock.release()
    assert (tmp_path / "run.lock").exists()  # the new owner's lock is not removed


def test_checkpoints_are_synced_to_storage_before_their_name_appears(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real(fd)))
    torch_files.save({"x": torch.zeros(2)}, tmp_path / "epoch_0001.pt")
    assert len(synced) == 2 and synced[0].endswith(".tmp") and synced[1] == str(tmp_path)
    assert torch.load(tmp_path / "epoch_0001.pt", weights_only=True)["x"].shape == (2,)


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "x.bin", lambda tmp: (open(tmp, "wb").write(b"half"), (_ for _ in ()).throw(RuntimeError())))
    assert list(tmp_path.iterdir()) == []


def test_a_safe_model_file_of_the_wrong_shape_is_a_clear_exit_2(tiny_runs, tmp_path, capsys, photos):
    """A file that loads safely but holds another network's weights, or a size of 0, was a
    traceback (or a network run at 32 px): now one line naming the file, exit code 2."""
    cases = {
        "other_arch.pt": lambda d: d["mask_model"]["arch"].update(encoder_name="resnet34"),
        "size0.pt": lambda d: d["generator"].update(size=0),
        "no_mask.pt": lambda d: d.pop("mask_model"),
    }
    for name, change in cases.items():
        d = torch_files.load_file(tiny_runs / "gan" / "best.pt")
        change(d)
        torch_files.save(d, tmp_path / name)
        code = predict(["--input-dir", str(photos), "--output-dir", str(tmp_path / f"out_{name}"),
                        "--run", str(tmp_path / name), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, (name, err)
        assert err.startswith(f"error: {tmp_path / name}: "), err
    assert "weights do not fit the network it names (resnet34" in predict_error(tmp_path, photos, "other_arch.pt", capsys)
    assert "size must be a positive multiple of 32" in predict_error(tmp_path, photos, "size0.pt", capsys)


def predict_error(tmp_path, photos, name, capsys) -> str:
    predict(["--input-dir", str(photos), "--output-dir", str(tmp_path / "again"), "--run", str(tmp_path / name),
             "--quiet"])
    return capsys.readouterr().err


def test_disk_full_while_saving_a_checkpoint_says_so(tmp_path, monkeypatch):
    """torch's writer reports a full disk as "[enforce fail at inline_container.cc:672] ... file
    write failed"; the save says "no space left" with the file's name, and leaves nothing behind."""
    from collections import namedtuple

    def full(*_a, **_k):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")
    monkeypatch.setattr(torch_files.torch, "save", full)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: namedtuple("u", "total used free")(10 << 30, 10 << 30, 4096))
    with pytest.raises(OSError, match=r"epoch_0003\.pt: could not be written: no space left on the device \(0 MB free\)"):
        torch_files.save({"epoch": 3}, tmp_path / "epoch_0003.pt")
    assert list(tmp_path.iterdir()) == []
