"""The explorer's layout: a model picker, a condition control for conditional models, and
one tab per module. Every tab's function is a named API endpoint.

Tabs talk through `Shared`: the model dropdown, the condition controls, and the current
latent (the image last reconstructed or picked), so the sliders and attribute tabs act
on what the Reconstruct tab showed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr
from starlette.middleware import Middleware

from . import api, cache, views
from .catalog import Catalog, Entry
from .common import MAX_UPLOAD_BYTES, STATIC_ROUTE, union_choices

TITLE = "Latent Lab"
# a public Space runs for days: the oldest sessions' state (their current latent) goes past SESSIONS (the files it
# serves and is sent are swept by ui.cache)
SESSIONS = 1000
CSS = """
.gradio-container {max-width: 1200px !important; width: 100%; margin: auto}
#title h1 {margin-bottom: 0}
#slider-decoded img {width: 256px; height: 256px; object-fit: contain; image-rendering: pixelated}
#slider-picture {position: sticky; top: 8px; align-self: flex-start; z-index: 100}
.gradio-container {overflow: clip !important}  /* clips like Gradio's "hidden" without becoming a scroll box, which would stop sticky */
/* the tabs' overflow menu ("•••") opens over the pinned pictures (#slider-picture, #attribute-pictures: z-index 100) */
.tab-wrapper .overflow-dropdown {z-index: 1000 !important}
/* example pickers: as many thumbnails a row as fit, every one shown, no fixed height (Gradio's 8 columns of at least
   100 px overflow a half-width column and hide some, under a 450 px box) */
.example-picker .grid-container {grid-template-columns: repeat(auto-fill, minmax(64px, 1fr)) !important; grid-auto-rows: auto !important}
.example-picker .grid-wrap {min-height: 0 !important; max-height: none !important; height: auto !important; overflow-y: visible !important;
  padding-top: 38px !important}  /* below the block's label, which Gradio lays over the first row */
.example-picker.small .grid-container {grid-template-columns: repeat(auto-fill, minmax(48px, 1fr)) !important}
/* a lesson's numbers: model names and values unbroken (a phone scrolls the table sideways instead) */
#lesson-text td:first-child, #lesson-text td:last-child, #lesson-text th {white-space: nowrap}
@media (max-width: 640px) {
  #lesson-text table {display: block; overflow-x: auto}
  #slider-picture {order: -1; width: 100%; background: var(--background-fill-primary); padding-bottom: 4px}
  #slider-decoded img {width: 160px; height: 160px}
  /* the attribute tab: the current and edited pictures above the controls, pinned while the strength is dragged; the
     note and the download follow the controls */
  #attribute-pictures {display: contents}
  #attribute-images {order: -1; width: 100%; flex: 1 1 100%; position: sticky; top: 0; z-index: 100;
    background: var(--background-fill-primary); padding: 4px 0}
  #attribute-images {flex-wrap: nowrap !important}  /* the two pictures side by side: a short strip to pin */
  #attribute-images > * {min-width: 0 !important; flex: 1 1 0 !important}
  #attribute-images img {max-height: 140px; object-fit: contain}
  #attribute-pictures > * {flex: 1 1 100%}
}
"""


@dataclass
class Shared:
    catalog: Catalog
    model: gr.Dropdown
    condition_class: gr.Dropdown
    condition_attributes: gr.CheckboxGroup
    latent: gr.State  # list[float]: the current image's latent
    pending_view: gr.State  # a shared view being opened (ui.views), until its latent has arrived in the tabs
    on_model: list[tuple[list, Callable[[Entry], list | dict]]] = field(default_factory=list)
    view_fields: dict = field(default_factory=dict)  # the controls a shared view carries, registered by their tabs
    tabs: gr.Tabs | None = None
    tab_ids: list[str] = field(default_factory=list)

    def entry(self, label: str) -> Entry:
        return self.catalog.get(label)

    @property
    def first(self) -> Entry:
        """The model the app opens on."""
        return self.catalog.get(self.catalog.labels[0])

    @property
    def conditions(self) -> list:
        return [self.condition_class, self.condition_attributes]

    def when_model_changes(self, outputs: list, update: Callable[[Entry], list | dict]) -> None:
        """Register a tab's reaction to a model change: update(entry) returns {output: value} for the outputs it sets,
        or a short list with one value per output."""
        self.on_model.append((outputs, update))

    @property
    def model_outputs(self) -> list:
        """Every component a model change sets, once each."""
        return list(dict.fromkeys(component for outputs, _ in self.on_model for component in outputs))

    def model_change(self, label: str) -> dict:
        """{component: value} for a change to the model `label`, from every tab's registered update."""
        entry = self.entry(label)
        values: dict = {}
        for outputs, update in self.on_model:
            result = update(entry)
            values |= result if isinstance(result, dict) else dict(zip(outputs, result, strict=True))
        return values


def theme() -> gr.Theme:
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate")


def launch(demo: gr.Blocks, **options):
    """Queue and launch demo as `python app.py` does (the tests and benches too); options go to Blocks.launch.
    - Gradio's run history is off: it rewrote the page's localStorage on every call, slider ticks included.
    - Gradio's queue summarises its last GRADIO_ANALYTICS_MAX_EVENTS calls (default 10,000) for its monitoring page
      after every call (GRADIO_ANALYTICS_CACHE_FREQUENCY, default 1), building a pandas table each time: 9 ms a call
      once a public Space has served 10,000 calls, 10% of the server's CPU with 16 clients dragging after 1,500. Here
      the last 1,000 calls, every 100 calls (both still settable in the environment).
    - Uploads are capped at MAX_UPLOAD_BYTES before they are stored, and at most SESSIONS sessions keep state.
    - The app also serves the slider page's files and routes outside Gradio (ui.routes), which ui.build put on demo.
    - A call that names a file other than an upload is refused before Gradio reads it (ui.cache.UploadsOnly)."""
    head = f'<script src="{STATIC_ROUTE}/local_decode.js"></script>'
    cache.keep_house(demo)
    cache.write_pictures_atomically()
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    return demo.queue(default_concurrency_limit=8).launch(
        theme=theme(),
        css=CSS,
        head=head,
        ssr_mode=False,
        run_history=False,
        max_file_size=MAX_UPLOAD_BYTES,
        state_session_capacity=SESSIONS,
        app_kwargs={"routes": getattr(demo, "page_routes", []), "middleware": [Middleware(cache.UploadsOnly)]},
        **options,
    )


def build(catalog: Catalog) -> gr.Blocks:
    from . import attributes, codebook, compare, interpolate, latent_map, lessons, model_card, reconstruct, routes, sample, sliders

    cache.use_own_folder()  # before any component is made: each reads the folder then
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(
            f"# {TITLE}\nLook inside generative models: reconstruct, sample, interpolate, drag latent sliders, add attribute vectors.",
            elem_id="title",
        )
        shared, link_controls = _header(catalog)
        with gr.Tabs(selected="reconstruct") as shared.tabs:
            for tab in (reconstruct, sample, interpolate, sliders, attributes, latent_map, codebook, compare, lessons, model_card):
                tab.build(shared)
        tab_blocks = [block for block in shared.tabs.children if isinstance(block, gr.Tab)]
        shared.tab_ids = [block.id for block in tab_blocks]
        views.build(shared, tab_blocks, *link_controls)
        api.build(shared)

        # a person's choice (.input, not .change: the page opening a shared view sets the picker without resetting the tabs)
        shared.model.input(shared.model_change, shared.model, shared.model_outputs, api_name=False)

        def opened(label, request: gr.Request):
            return views.open_view(shared, label, request)

        demo.load(opened, shared.model, [*shared.model_outputs, *views.extra_outputs(shared)], api_name=False)
    demo.page_routes = routes.routes(catalog)  # served beside Gradio's by launch
    return demo


def _header(catalog: Catalog) -> tuple[Shared, tuple]:
    """The row above the tabs -- the model picker, a conditional model's condition controls, the link controls --
    and the Shared state the tabs build on."""
    first = catalog.entries[catalog.labels[0]]
    with gr.Row(equal_height=True):
        model = gr.Dropdown(catalog.labels, value=first.label, label="Model", scale=3)
        # every model's conditions to start with: Gradio checks a choice against the session's choices, and an API
        # client never sees the model change that narrows them
        entries = catalog.entries.values()
        every_class = union_choices([(c, c) for c in e.conditions] for e in entries if e.conditioned_on_classes)
        every_attribute = union_choices([(c, c) for c in e.conditions] for e in entries if not e.conditioned_on_classes)
        condition_class = gr.Dropdown(every_class, value=None, label="Condition on class", visible=False, scale=1)
        condition_attributes = gr.CheckboxGroup(every_attribute, label="Condition on attributes", visible=False, scale=2)
        link_controls = views.controls()
    shared = Shared(catalog, model, condition_class, condition_attributes, gr.State([]), gr.State(None))
    shared.when_model_changes(shared.conditions, _condition_updates)
    return shared, link_controls


def _condition_updates(entry: Entry) -> list:
    names = entry.conditions
    by_class = bool(names) and entry.conditioned_on_classes
    # a control the model does not take keeps its choices and is hidden: emptied choices make the browser's dropdown
    # send a stale index that Gradio then refuses
    return [
        gr.update(choices=names, value=names[0], visible=True) if by_class else gr.update(value=None, visible=False),
        gr.update(choices=names, value=[], visible=True) if names and not by_class else gr.update(value=[], visible=False),
    ]
