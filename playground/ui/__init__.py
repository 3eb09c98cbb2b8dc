"""The Gradio pages of GAN Playground: one module per tab, the control table, the app assembly.

Nothing below this package imports Gradio; these modules only turn clicks into Session calls
and Snapshots into components.
"""
