"""GAN Playground's entry point (`python app.py`, also what a Hugging Face Space runs).

Host and port come from Gradio's environment variables (GRADIO_SERVER_NAME, GRADIO_SERVER_PORT;
locally 127.0.0.1:7860), never from this file, so the same file runs on a laptop and a Space.
GAN_PLAYGROUND_MAX_RUNS (default 2) caps the runs that train at the same time; a run nobody
watches pauses after GAN_PLAYGROUND_UNWATCHED_S (default 180 s).
"""
from playground.registry import SessionRegistry
from playground.trainer import set_threads
from playground.ui.app import build_app, limit_malloc_arenas, max_runs_from_env
from playground.ui.uploads import MAX_UPLOAD_BYTES

# One torch thread per process: these small models are fastest that way, and two threads
# collapse 50-100x as soon as another run competes for the 2 cores (bench/RESULTS.md).
set_threads(1)
# Few malloc arenas: a long-running server with a thread per run otherwise creeps in memory.
limit_malloc_arenas()

demo = build_app(SessionRegistry(max_running=max_runs_from_env()))

if __name__ == "__main__":
    # Refuse any upload larger than the largest thing a visitor may upload (a checkpoint),
    # before it is stored.
    demo.launch(max_file_size=MAX_UPLOAD_BYTES)
