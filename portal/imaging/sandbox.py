"""Untrusted image bytes decoded in a child process under an address-space (RLIMIT_AS) and CPU-time limit.

A crafted file (a compressed multi-frame DICOM, a picture that inflates) can ask a decoder for gigabytes; in a
child it can only kill itself. Children fork from a forkserver that has the decoders imported already, so each
render costs a fork, not an interpreter start. The result comes back as plain bytes with a JSON header (never
pickle): a compromised child cannot make the web process run anything.
"""

import json
import logging
import multiprocessing
import os
import resource
from datetime import date
from multiprocessing import spawn

log = logging.getLogger("chairside.imaging")

MEMORY_BYTES = 1024 * 1024 * 1024  # a 10 MP panoramic X-ray needs ~250 MB at its widest; the rest is headroom
CPU_SECONDS = 20
COSTLY = "is too large or too complex to render safely"

# Imported once by the forkserver, so that a child only forks: the decoders, which pydicom and Pillow otherwise
# import lazily on first use.
PRELOAD = ["portal.imaging.rendering", "numpy", "pydicom", "pydicom.pixels", "pydicom.pixels.decoders",
           "pydicom.pixels.decoders.rle", "pydicom.pixels.decoders.native", "PIL.PngImagePlugin",
           "PIL.JpegImagePlugin"]
CHILD_NAME = "chairside-render"
_context = None
_preparation_data = spawn.get_preparation_data


def _without_main(name: str) -> dict:
    """Our children run one function of this module: they need not re-run the app's main module, which
    multiprocessing does in every child (Python 3.11's forkserver cannot preload it: its `main_path` key is never
    filled in), costing 0.3 s per upload under pytest or `python -m portal.cli`."""
    data = _preparation_data(name)
    if name.startswith(CHILD_NAME):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


spawn.get_preparation_data = _without_main


def _forkserver():
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def _child(conn, fmt: str, memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    from portal.imaging import rendering

    data = conn.recv_bytes()
    try:
        result = rendering.render_here(fmt, data)
    except rendering.Unreadable as exc:
        conn.send_bytes(json.dumps({"unreadable": str(exc)}).encode())
        return
    same = result.original is data
    conn.send_bytes(json.dumps({
        "content_type": result.content_type, "width": result.width, "height": result.height,
        "taken_on": result.taken_on.isoformat() if result.taken_on else None, "same_original": same,
        "pixel_spacing": result.pixel_spacing,
        "display": result.display is not None}).encode())
    conn.send_bytes(b"" if same else result.original)
    conn.send_bytes(result.thumbnail)
    conn.send_bytes(result.display or b"")


def _file_child(conn, fmt: str, source: str, folder: str, memory_bytes: int, cpu_seconds: int) -> None:
    """Like _child, but the bytes come from a file and the original and display go to files in `folder`, so the
    web process never holds a whole upload."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    from portal.imaging import rendering

    with open(source, "rb") as file:
        data = file.read()
    try:
        result = rendering.render_here(fmt, data)
    except rendering.Unreadable as exc:
        conn.send_bytes(json.dumps({"unreadable": str(exc)}).encode())
        return
    same = result.original is data
    for name, content in (("original", None if same else result.original), ("display", result.display)):
        if content is not None:
            with open(os.path.join(folder, name), "wb") as file:
                file.write(content)
    conn.send_bytes(json.dumps({
        "content_type": result.content_type, "width": result.width, "height": result.height,
        "taken_on": result.taken_on.isoformat() if result.taken_on else None, "same_original": same,
        "pixel_spacing": result.pixel_spacing,
        "display": result.display is not None}).encode())
    conn.send_bytes(result.thumbnail)


def run_file(fmt: str, source: str, folder: str, memory_bytes: int = MEMORY_BYTES,
             cpu_seconds: int = CPU_SECONDS):
    """rendering.render_here on the file `source` in a limited child; a RenderedFile whose original (and display)
    are files (the original is `source` itself when kept as sent). Unreadable if it fails, runs out or overruns."""
    from portal.imaging.rendering import RenderedFile

    header, thumbnail = _in_child(fmt, _file_child, (fmt, source, folder, memory_bytes, cpu_seconds),
                                  cpu_seconds, None, 1)
    return RenderedFile(
        original=source if header["same_original"] else os.path.join(folder, "original"),
        content_type=header["content_type"], thumbnail=thumbnail,
        display=os.path.join(folder, "display") if header["display"] else None, width=header["width"],
        height=header["height"],
        taken_on=date.fromisoformat(header["taken_on"]) if header["taken_on"] else None,
        pixel_spacing=_spacing(header))


def _in_child(fmt: str, target, args: tuple, cpu_seconds: int, data: bytes | None, replies: int):
    """Start `target(conn, *args)` in a forked child, send it `data` (if any), and read its JSON header and then
    `replies` byte messages."""
    from portal.imaging.rendering import Unreadable

    context = _forkserver()
    ours, theirs = context.Pipe()
    process = context.Process(target=target, args=(theirs, *args), daemon=True, name=CHILD_NAME)
    process.start()
    theirs.close()
    try:
        if data is not None:
            ours.send_bytes(data)
        if not ours.poll(cpu_seconds * 2 + 5):  # wall clock: a child stuck off-CPU is stopped too
            raise TimeoutError
        header = json.loads(ours.recv_bytes())
        if "unreadable" in header:
            raise Unreadable(str(header["unreadable"]))
        return (header, *(ours.recv_bytes() for _ in range(replies)))
    except (EOFError, OSError, TimeoutError, ValueError) as exc:
        log.warning("render of %s stopped in its sandbox (%s, exit %s)", fmt, type(exc).__name__, process.exitcode)
        raise Unreadable(COSTLY) from None
    finally:
        ours.close()
        process.join(1)
        if process.is_alive():
            process.kill()
            process.join()


def run(fmt: str, data: bytes, memory_bytes: int = MEMORY_BYTES, cpu_seconds: int = CPU_SECONDS):
    """rendering.render_here(fmt, data) in a limited child; Unreadable if it fails, runs out or overruns."""
    from portal.imaging.rendering import Rendered

    header, original, thumbnail, display = _in_child(fmt, _child, (fmt, memory_bytes, cpu_seconds), cpu_seconds,
                                                     data, 3)
    return Rendered(original=data if header["same_original"] else original, content_type=header["content_type"],
                    thumbnail=thumbnail, display=display if header["display"] else None, width=header["width"],
                    height=header["height"],
                    taken_on=date.fromisoformat(header["taken_on"]) if header["taken_on"] else None,
                    pixel_spacing=_spacing(header))


def _spacing(header: dict) -> tuple[float, float] | None:
    spacing = header.get("pixel_spacing")
    return (float(spacing[0]), float(spacing[1])) if spacing else None
