"""The account profiles in fixtures/: their rights to read and to post, and how a bad file is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.harness.test_data import account_profiles


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def test_the_fixtures_have_a_member_who_reads_and_posts_everywhere_and_a_reader_who_only_reads() -> None:
    profiles = account_profiles()
    assert (profiles["member"].read, profiles["member"].publish) == (("*",), ("*",))
    assert (profiles["reader"].read, profiles["reader"].publish) == (("*",), ())
    assert (profiles["subscriber"].read, profiles["subscriber"].publish) == ((), ())
    assert all(profile.description for profile in profiles.values())
    assert profiles["member"].channels == profiles["member"].read


def test_a_profile_with_only_channels_reads_and_posts_on_them(tmp_path: Path) -> None:
    path = write(tmp_path, {"old": {"description": "From before rights were split.", "channels": ["news"]}})
    profile = account_profiles(path)["old"]
    assert (profile.read, profile.publish) == (("news",), ("news",))


def test_a_profile_may_read_without_posting(tmp_path: Path) -> None:
    path = write(tmp_path, {"viewer": {"description": "Reads news.", "read": ["news"], "publish": []}})
    profile = account_profiles(path)["viewer"]
    assert (profile.name, profile.read, profile.publish) == ("viewer", ("news",), ())


@pytest.mark.parametrize(
    "entry",
    [
        {"description": "No rights at all."},
        {"description": "Rights as text.", "read": "news"},
        {"read": ["news"], "publish": []},
    ],
    ids=["no-rights", "rights-not-a-list", "no-description"],
)
def test_a_bad_profile_is_reported_with_the_file(tmp_path: Path, entry: dict[str, object]) -> None:
    path = write(tmp_path, {"broken": entry})
    with pytest.raises(ValueError, match="is not a valid account list"):
        account_profiles(path)
