// Back office: submit the tenant switcher when a tenant is chosen (a button is shown without JS).
"use strict";
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.value) select.form.submit();
});
