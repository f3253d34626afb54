"""What the browser tests and their fixtures share: the 3-student fixture class and the screenshot."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUBECTL_DOUBLE = os.path.join(ROOT, "roles", "students", "molecule", "default", "doubles", "kubectl-token-double")
STUDENTS = ["kim", "lee", "park"]
LAB = "w2d3-ecommerce"
CHECKS = ["frontend-ready", "gateway-ready"]
# park's gateway check failed already in an earlier run: the board keeps the time it started failing.
PARK_SINCE = "2026-01-05 09:00:00"
GRAFANA_PASSWORD = "fixture-grafana-pw-5d1e"
PACKAGES = ["chromium", "chromium-driver"]
SCREENSHOT = os.path.join(ROOT, "build", "test-logs", "class-board.png")
SAVED = []


def save_screenshot(driver):
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    driver.save_screenshot(SCREENSHOT)
    SAVED.append(SCREENSHOT)
