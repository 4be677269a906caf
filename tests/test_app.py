"""The web demo: its logic with any run's model, and the real page driven in headless Chromium."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import REPO_ROOT
from helpers.app import overlay, restore_files
from helpers.pipeline.restore import Restorer

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def test_the_page_logic_restores_converts_and_reports(tiny_runs, small_dataset, tmp_path):
    restorer = Restorer.load(tiny_runs / "gan")
    gray = sorted((small_dataset / "test_input").glob("*.png"))[0]
    colour = tmp_path / "colour.jpg"
    Image.new("RGB", (300, 200), (200, 120, 40)).save(colour)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    gallery, downloads, message = restore_files(restorer, [str(gray), str(colour), str(broken)], 0.5, False,
                                                tmp_path / "out")
    assert len(gallery) == 6 and len(downloads) == 2
    assert Image.open(downloads[1]).size == (300, 200) and Image.open(downloads[1]).mode == "RGB"
    assert "converted from RGB to 8-bit gray" in message and str(tmp_path) not in message
    assert "**broken.png**: not restored: not a readable image" in message and "Traceback" not in message
    mask = np.zeros((4, 4), bool)
    mask[0] = True
    tinted = overlay(np.full((4, 4), 100, np.uint8), mask)
    assert tinted[0, 0, 0] > tinted[0, 0, 1] and (tinted[1] == 100).all()
    assert restore_files(restorer, [], 0.5, False, tmp_path)[2].startswith("Upload one or more photos")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_request_is_bounded_and_gets_its_own_folder(tiny_runs, tmp_path, monkeypatch):
    """Anyone with the link can send work: a photo over APP_MAX_PIXELS is refused from its header
    (an 11000 x 10000 black PNG of 107 KB held the server for 6 minutes), files past APP_MAX_FILES
    or the time limit are listed as not restored, no message shows a server path, and each
    request writes into a folder of its own, old ones deleted."""
    from helpers import app

    restorer = Restorer.load(tiny_runs / "gan")
    uploads = tmp_path / "gradio" / "0f3c9a"
    uploads.mkdir(parents=True)
    Image.new("L", (11000, 10000)).save(uploads / "huge.png")
    for i in range(3):
        Image.new("L", (64, 64), 60 * i).save(uploads / f"small{i}.png")
    (uploads / "bad.png").write_bytes(b"not an image")
    results = tmp_path / "results"
    results.mkdir()
    first, second = app.request_folder(results), app.request_folder(results)
    assert first != second and first.parent == results
    os.utime(first, (time.time() - 2 * app.KEEP_RESULTS,) * 2)
    app.request_folder(results)
    assert not first.exists() and second.exists()
    files = [str(uploads / n) for n in ("huge.png", "bad.png", "small0.png", "small1.png", "small2.png")]
    monkeypatch.setattr(app, "APP_MAX_FILES", 4)
    t0 = time.monotonic()
    gallery, downloads, message = app.restore_files(restorer, files, 0.5, False, second)
    assert time.monotonic() - t0 < 60  # refused from the header, not decoded (110 MP took minutes)
    assert "**huge.png**: not restored: 110 megapixels is over this page's limit of 24" in message
    assert "**bad.png**: not restored: not a readable image" in message
    assert "**1 more photo(s)** not restored: at most 4 photos per request" in message
    assert len(downloads) == 2 and all(Path(d).parent == second for d in downloads)
    assert str(tmp_path) not in message and "gradio" not in message
    gallery, downloads, message = app.restore_files(restorer, files[2:], 0.5, False, second, time_limit=0)
    assert downloads == [] or len(downloads) == 1  # the first may start within the limit
    assert "not restored: this request's time limit (0 s) was reached" in message


@pytest.fixture
def app_server(tmp_path):
    port = free_port()
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp_path / "tmp")}
    log = open(tmp_path / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "helpers.app", "--port", str(port)], cwd=REPO_ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the app did not start:\n" + (tmp_path / "app.log").read_text()[-3000:])
    yield f"http://127.0.0.1:{port}/"
    assert list((tmp_path / "tmp").glob("restore-app-*")), "the app keeps its results under TMPDIR"
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
    assert not list((tmp_path / "tmp").glob("restore-app-*")), "the restored PNGs outlived the app"


def test_restore_a_photo_in_a_real_browser(app_server, small_dataset, tmp_path):
    """Headless Chromium uploads a damaged photo, waits for the result and downloads the PNG."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), \
        "Debian's chromium and chromium-driver are needed (make test installs them)"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1600"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=webdriver.ChromeService(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(app_server)
        wait = WebDriverWait(driver, 180)
        upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#photos input[type=file]")))
        photo = sorted((small_dataset / "test_input").glob("*.png"))[0]
        upload.send_keys(str(photo))
        wait.until(ec.text_to_be_present_in_element((By.ID, "photos"), photo.stem))  # uploaded
        driver.find_element(By.ID, "restore").click()
        link = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#downloads a")))
        wait.until(ec.text_to_be_present_in_element((By.ID, "message"), "restored"))
        driver.save_screenshot(str(tmp_path / "app.png"))
        link.click()
        deadline = time.time() + 60
        while time.time() < deadline and not list(downloads.glob("*.png")):
            time.sleep(0.5)
        saved = list(downloads.glob("*.png"))
        assert saved, "the browser did not download the restored PNG"
    finally:
        driver.quit()
    assert (tmp_path / "app.png").stat().st_size > 10_000  # a real screenshot of the page
    restored = Image.open(saved[0])
    assert restored.size == (512, 512) and restored.mode == "RGB"
    damaged = np.asarray(Image.open(photo))
    region = np.asarray(Image.open(small_dataset / "test_mask" / photo.name)) > 0
    fill = np.bincount(damaged[region]).argmax()
    still_flat = np.mean(np.asarray(restored.convert("L"))[region] == fill)
    assert still_flat < 0.2, f"the lost region was not filled ({still_flat:.0%} still at the fill value)"


def test_a_heavy_request_does_not_hold_up_the_next_user(tmp_path):
    """Two requests run at once: while one user's photo is still being restored (held here until
    the other is answered), a second user's request is served."""
    import threading

    from gradio_client import Client, handle_file

    from helpers import app

    release, started = threading.Event(), threading.Event()

    class Held:  # a restorer that holds the "heavy" photo until told
        mask_spec, tta = type("spec", (), {"threshold": 0.5})(), False

        def describe(self):
            return "held"

        def restore(self, gray, threshold=None, tta=None):
            if gray[0, 0] == 255:
                started.set()
                assert release.wait(120), "the light request was never served"
            return np.repeat(gray[..., None], 3, axis=2), gray > 250

    heavy, light = tmp_path / "heavy.png", tmp_path / "light.png"
    Image.new("L", (64, 64), 255).save(heavy)
    Image.new("L", (64, 64), 10).save(light)
    page = app.build(Held(), tmp_path)
    page.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(page.local_url, verbose=False)
        run = next(i for i, f in page.fns.items() if f.name == "run")
        job = client.submit([handle_file(str(heavy))], 0.5, False, fn_index=run)
        assert started.wait(60)
        _, _, message = client.predict([handle_file(str(light))], 0.5, False, fn_index=run)
        assert "**light.png**: restored" in message and not job.done()
        release.set()
        assert "**heavy.png**: restored" in job.result(timeout=60)[2]
    finally:
        release.set()
        page.close()
