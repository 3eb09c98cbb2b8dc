"""GAN Playground's entry point (`python app.py`, also what a Hugging Face Space runs).

Host and port come from Gradio's environment variables (GRADIO_SERVER_NAME, GRADIO_SERVER_PORT;
locally 127.0.0.1:7860), never from this file, so the same file runs on a laptop and a Space.
GAN_PLAYGROUND_MAX_RUNS (default 2) caps the runs that train at the same time; a run nobody
watches pauses after GAN_PLAYGROUND_UNWATCHED_S (default 180 s).
"""
# Each visitor's run trains in a process of its own (playground/process_session.py), and
# multiprocessing imports the main script into it as __mp_main__: there, this file must do
# nothing (no second app, not even the import of Gradio).
if __name__ != "__mp_main__":
    from playground.ui.app import served_app
    from playground.ui.uploads import MAX_UPLOAD_BYTES

    demo = served_app()

if __name__ == "__main__":
    # Refuse any upload larger than the largest thing a visitor may upload (a checkpoint),
    # before it is stored.
    demo.launch(max_file_size=MAX_UPLOAD_BYTES)
