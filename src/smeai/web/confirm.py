"""The questions asked before a destructive action. Every such button carries
`data-confirm="{{ confirm('reject') }}"`; app.js asks the question and cancels the submission on "no".
One list, so the same action asks the same question everywhere."""

from __future__ import annotations

from smeai.i18n import N_, gettext

QUESTIONS = {
    "reject": N_("Reject this? The submitter will see your comment."),
    "withdraw": N_("Withdraw this? It will no longer be considered."),
    "delete": N_("Delete this? This cannot be undone."),
    "close_need": N_("Close this need? Providers can no longer respond to it."),
    "close_engagement": N_("Close this engagement? Record its result first if there is one."),
    "give_up_place": N_("Give up this place? It goes to the next on the waiting list."),
    "cancel_event": N_("Cancel this event? Everyone registered is told by email."),
    "expire": N_("Expire every approval not redeemed in time? Their reserved amounts return to the budget."),
}


def confirm(action: str) -> str:
    """The question for `action` in the reader's language."""
    return gettext(QUESTIONS[action])
