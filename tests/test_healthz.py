import pytest

from config.celery_app import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthy_when_database_broker_and_storage_answer(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "storage": True,
    }
    assert list(tmp_path.rglob("*.txt")) == []  # the storage probe cleans up after itself


def test_a_broker_that_does_not_answer_makes_it_503_and_says_so(client, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False and checks["broker"]["error"]
    assert checks["database"]["ok"] is True and checks["storage"]["ok"] is True


def test_storage_that_cannot_be_written_makes_it_503(client, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False
