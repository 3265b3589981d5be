"""flashwidget in marimo: ``marimo edit examples/marimo_app.py`` (or ``marimo run``).

marimo shows anywidgets through ``mo.ui.anywidget``; the wrapped widget keeps its Python API
(``explorer.target``, ``explorer.gradients``), and a cell that reads the wrapper re-runs
whenever a control changes in the view. ``python examples/marimo_app.py`` runs it as a script.
"""

import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo

    import flashwidget as fw

    return fw, mo


@app.cell
def _(fw, mo):
    explorer = mo.ui.anywidget(fw.demo())
    explorer
    return (explorer,)


@app.cell
def _(explorer, mo):
    # Re-runs on every change made in the view above: marimo's reactivity.
    top = ", ".join(f"{p['label']} {p['probability']:.0%}" for p in explorer.predictions)
    summary = mo.md(f"**Shown:** {explorer.status}  \n**Top-5:** {top}")
    print(explorer.status)
    summary
    return


if __name__ == "__main__":
    app.run()
