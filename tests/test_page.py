"""ui/page.py: handlers speak in elem_ids; "nothing changed" reaches Gradio as skips."""
import gradio as gr

from playground.ui.page import Page


def test_a_handler_that_changes_nothing_returns_skips_for_every_output():
    with gr.Blocks():
        page = Page()
        page.add(gr.Textbox(elem_id="a"))
        page.add(gr.Textbox(elem_id="b"))
        page.add(gr.State(None), name="s")
    event = page.wrap(lambda request, values: {}, with_inputs=False, outputs=2)
    assert event(None) == [gr.skip(), gr.skip()]
    one = page.wrap(lambda request, values: {}, with_inputs=False, outputs=1)
    assert one(None) == gr.skip()
    changes = page.wrap(lambda request, values: {"b": values["a"] + "!"}, with_inputs=True, outputs=2)
    assert changes({page["a"]: "hi"}, None) == {page["b"]: "hi!"}


def test_ids_are_unique():
    with gr.Blocks():
        page = Page()
        page.add(gr.Textbox(elem_id="x"))
        try:
            page.add(gr.Textbox(elem_id="x"))
        except ValueError as err:
            assert "x" in str(err)
        else:
            raise AssertionError("a second component with the same id was accepted")
