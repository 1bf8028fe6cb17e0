// Marks the document once the interactive circuit is up, so browser tests can wait for it.
window.deepPerceptionPortal = {
  markInteractive: function () { document.body.setAttribute('data-interactive', 'true'); }
};
