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
    assert "converted from RGB to 8-bit gray" in message
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


@pytest.fixture
def app_server(tmp_path):
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
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
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


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
