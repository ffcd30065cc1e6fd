"""Progress: a bar with the loss where a person watches, nothing in a headless run."""

from __future__ import annotations

from mnist_helpers.support import progress
from mnist_helpers.support.progress import LOSS_EVERY, progress_bar


def test_headless_there_is_no_bar_and_nothing_is_printed(capsys):
    items = list(progress_bar(range(5), "epoch 1/5"))
    assert items == [0, 1, 2, 3, 4]
    assert capsys.readouterr() == ("", "")


class FakeBar:
    def __init__(self, **kwargs):
        self.updates, self.postfixes, self.closed = 0, [], False

    def update(self):
        self.updates += 1

    def set_postfix(self, values):
        self.postfixes.append(values)

    def close(self):
        self.closed = True


def test_in_a_frontend_the_bar_moves_shows_the_loss_now_and_then_and_closes(monkeypatch):
    import tqdm.auto

    made = []
    monkeypatch.setattr(progress, "is_interactive_frontend", lambda: True)
    monkeypatch.setattr(tqdm.auto, "tqdm", lambda **kwargs: made.append(FakeBar()) or made[-1])
    bar = progress_bar(range(2 * LOSS_EVERY + 5), "epoch 1/5")
    for step in bar:
        bar.show(loss=1.0 / (step + 1))
    (fake,) = made
    assert fake.updates == 2 * LOSS_EVERY + 5
    assert len(fake.postfixes) == 2 and fake.closed


def test_a_stop_mid_epoch_still_closes_the_bar(monkeypatch):
    import tqdm.auto

    made = []
    monkeypatch.setattr(progress, "is_interactive_frontend", lambda: True)
    monkeypatch.setattr(tqdm.auto, "tqdm", lambda **kwargs: made.append(FakeBar()) or made[-1])
    bar = progress_bar(range(10), "epoch 1/5")
    for step in bar:
        if step == 3:
            break
    del bar
    import gc

    gc.collect()
    assert made[0].closed
