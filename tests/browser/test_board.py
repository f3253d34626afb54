"""The class board of a 3-student fixture class in a real browser (headless Debian chromium, Selenium), and no
secret of that class anywhere in the board."""

import os

from board_fixture import LAB, PARK_SINCE, SCREENSHOT, STUDENTS, save_screenshot

GREEN, RED, GREY = "rgba(10, 92, 30, 1)", "rgba(160, 0, 0, 1)", "rgba(51, 51, 51, 1)"


def _cells(browser, student):
    row = browser.find_element("id", "student-" + student)
    return [cell for cell in row.find_elements("css selector", "th, td")]


def test_board_cells_colours_and_links_in_chromium(fixture_class, browser):
    build, _, _ = fixture_class
    board = build / "board" / "index.html"
    browser.get(board.as_uri())
    try:
        head = [th.text for th in browser.find_elements("css selector", "#board tr:first-child th")]
        assert head[:3] == ["student", "cluster / namespaces", "access sheet"]
        assert head[3:5] == ["%s/frontend-ready" % LAB, "%s/gateway-ready" % LAB]
        assert head[5:] == ["addon prometheus", "addon vault", "nodes zone-a", "nodes zone-b", "nodes zone-c",
                            "checked at"]
        expected = {"kim": ["OK", "OK"], "lee": ["OK", "FAIL"], "park": ["OK", "FAIL"]}
        for student in STUDENTS:
            cells = _cells(browser, student)
            assert cells[0].text == student and cells[1].text == "kubelab-" + student
            # Text and colour both say the state: a projector or a colour-blind reader still reads it.
            labs = cells[3:5]
            assert [c.text.split()[-1] for c in labs] == expected[student]
            assert [c.value_of_css_property("background-color") for c in labs] == [
                GREEN if state == "OK" else RED for state in expected[student]]
            health = cells[5:10]
            assert [c.text.split()[-1] for c in health] == ["OK", "FAIL", "OK", "OK", "OK"]
            assert health[1].get_attribute("title") == "0/0 workloads ready"
            assert health[1].value_of_css_property("background-color") == RED
            link = cells[2].find_element("tag name", "a")
            assert link.get_attribute("href") == (build / "students" / student / "endpoints.md").as_uri()
            assert int(cells[0].value_of_css_property("font-size").rstrip("px").split(".")[0]) >= 20
        # Stuck longest first: park (failing since an earlier run), then kim (vault is down) and lee (since this
        # run), each with the first check that fails.
        stuck = [li.text.partition(" since ")[0] for li in browser.find_elements("css selector", "#stuck li")]
        assert stuck == ["park: %s/gateway-ready failing" % LAB, "kim: addon vault failing",
                         "lee: %s/gateway-ready failing" % LAB]
        assert browser.find_element("css selector", "#stuck li").text.endswith(PARK_SINCE)
    finally:
        save_screenshot(browser)
    assert os.path.getsize(SCREENSHOT) > 10000


def test_board_loads_nothing_from_elsewhere(fixture_class):
    page = (fixture_class[0] / "board" / "index.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page and "@import" not in page


def test_no_generated_secret_reaches_the_board_or_the_run_log(fixture_class):
    build, result, secrets = fixture_class
    # The fixture class did generate secrets: 1 admin token, 3 student tokens (the cluster-admin one each, in
    # cluster tenancy), the Grafana password.
    assert len(secrets) >= 2 and all(len(s) >= 12 for s in secrets), secrets
    texts = {path: path.read_text() for path in (build / "board").rglob("*") if path.is_file()}
    assert build / "board" / "index.html" in texts
    texts["the run's log"] = result.stdout + result.stderr
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, "a generated secret (%s...) is in %s" % (secret[:4], where)
