"""The centre's consultants (AI 转型顾问): their workspace over the enterprises an operator assigned them."""
