"""What the bot says and the small formats people type: the English and Spanish catalog
(`messages`), the errors the bot knows how to explain (`errors`), redaction of secrets
(`redact`), durations (`durations`), numbers, plurals and relative times in the reader's
language through Babel (`locale`) and ids that travel in command text (`ids`). The bottom
layer: it imports no other bot package.
"""
